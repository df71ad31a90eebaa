app "t" {}

topic "in" {
  partitions = "4"
}
