app "t" {}

model "M" {
  field "count" {
    type    = number
    default = "zero"
  }
}
