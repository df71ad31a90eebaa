app "t" {}

topic "in" {
  partitions = 4
}

table "counts" {
  value    = number
  on_close = topic.in
}
