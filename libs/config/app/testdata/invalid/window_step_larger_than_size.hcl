app "t" {}

table "w" {
  value = number
  window "hopping" {
    size = "1m"
    step = "5m"
  }
}
