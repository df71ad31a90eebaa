app "t" {}

topic "in" {
  partitions = 4
}

table "counts" {
  value = number
}

agent "a" {
  from = topic.in
  aggregate "count" {
    into = table.count
  }
}
