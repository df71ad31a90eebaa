app "t" {}

topic "in" {
  value = model.PageView
}
