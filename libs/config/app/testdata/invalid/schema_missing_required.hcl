app "t" {}

topic "in" {
  partitions = 4
}

agent "a" {
  handler = "enrich"
}
