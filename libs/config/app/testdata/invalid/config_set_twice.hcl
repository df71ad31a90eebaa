app "t" {}

topic "in" {
  cleanup = "compact"
  configs = {
    "cleanup.policy" = "delete"
  }
}
