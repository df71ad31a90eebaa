app "t" {}

topic "in" {
  value = string
}

topic "out" {}

agent "a" {
  from = topic.in
  set "n" {
    value = 1
  }
  emit {
    to = topic.out
  }
}
