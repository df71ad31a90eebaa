app "t" {}

topic "in" {
  partitions = 4
}

agent "a" {
  from    = 42
  handler = "enrich"
}
