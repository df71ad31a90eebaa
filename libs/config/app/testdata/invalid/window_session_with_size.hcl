app "t" {}

table "w" {
  value = number
  window "session" {
    gap  = "5m"
    size = "1m"
  }
}
