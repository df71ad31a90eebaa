app "t" {}

topic "in" {
  partitions = 4
}

topic "clicks" {
  partitions = 8
}

table "per_user" {
  value = number
}

agent "count_in" {
  from = topic.in
  aggregate "count" {
    into = table.per_user
  }
}

agent "count_clicks" {
  from = topic.clicks
  aggregate "count" {
    into = table.per_user
  }
}
