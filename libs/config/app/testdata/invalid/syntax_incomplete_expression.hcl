app "t" {}

topic "in" {
  partitions = 4
}

agent "a" {
  from = topic.in
  filter {
    when = value ==
  }
}
