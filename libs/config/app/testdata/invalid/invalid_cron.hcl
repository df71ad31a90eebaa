app "t" {}

timer "nightly" {
  cron    = "0 25 * * *"
  handler = "enrich"
}
