app "t" {}

table "limits" {
  global = true
}
