app "t" {}

timer "t" {
  every   = "1m"
  cron    = "*/5 * * * *"
  handler = "enrich"
}
