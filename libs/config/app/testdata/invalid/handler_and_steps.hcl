app "t" {}

topic "in" {
  partitions = 4
}

agent "a" {
  from    = topic.in
  handler = "enrich"
  filter {
    when = true
  }
}
