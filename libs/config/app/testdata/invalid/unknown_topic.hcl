app "t" {}

topic "page_views" {
  partitions = 4
}

agent "a" {
  from    = topic.pageviews
  handler = "enrich"
}
