app "t" {}

topic "in" {
  partitions = 4
}

topic "out" {
  partitions = 4
}

agent "a" {
  from = topic.in
  map {
    value = uppercase(value)
  }
  emit {
    to = topic.out
  }
}
