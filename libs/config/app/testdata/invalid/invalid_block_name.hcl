app "t" {}

topic "page-views" {
  partitions = 4
}
