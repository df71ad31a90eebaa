app "t" {}

table "w" {
  value = number
  window "tumbling" {
    size = "1 minute"
  }
}
