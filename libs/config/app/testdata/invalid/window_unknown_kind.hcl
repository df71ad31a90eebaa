app "t" {}

table "w" {
  value = number
  window "tumbeling" {
    size = "1m"
  }
}
