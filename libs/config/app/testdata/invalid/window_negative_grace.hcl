app "t" {}

table "w" {
  value = number
  window "tumbling" {
    size  = "1m"
    grace = "-10s"
  }
}
