app "t" {}

topic "in" {
  partitions = 4
}

topic "in" {
  partitions = 8
}
