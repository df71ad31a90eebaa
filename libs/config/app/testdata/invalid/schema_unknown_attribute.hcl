app "t" {}

topic "in" {
  partitons = 4
}
