app "t" {}

topic "offsets" {
  name = "__consumer_offsets"
}

topic "internal" {
  name = "weir.t.internal"
}
