app "t" {}

topic "in" {
  partitions = 4
}

table "totals" {
  value = number
}

agent "a" {
  from = topic.in
  aggregate "sum" {
    into = table.totals
  }
}
