app "t" {}

topic "in" {
  partitions = 4
}

table "limits" {
  global = true
  source = topic.in
}

agent "a" {
  from = topic.in
  aggregate "count" {
    into = table.limits
  }
}
