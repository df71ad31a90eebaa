app "t" {}

stream "in" {
  partitions = 4
}
