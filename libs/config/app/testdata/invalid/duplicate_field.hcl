app "t" {}

model "M" {
  field "a" {
    type = string
  }
  field "a" {
    type = number
  }
}
