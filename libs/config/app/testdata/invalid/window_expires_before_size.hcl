app "t" {}

table "w" {
  value = number
  window "tumbling" {
    size    = "1h"
    expires = "30m"
  }
}
