app "t" {
  guarantee = "exactly_once"
}
