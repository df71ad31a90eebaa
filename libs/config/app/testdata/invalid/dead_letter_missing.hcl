app "t" {}

topic "in" {
  partitions = 4
}

agent "a" {
  from    = topic.in
  handler = "enrich"
  on_error {
    retries = 3
    then    = "dead_letter"
  }
}
