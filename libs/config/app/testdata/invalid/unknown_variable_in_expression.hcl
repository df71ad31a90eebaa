app "t" {}

topic "in" {
  partitions = 4
}

topic "out" {
  partitions = 4
}

agent "a" {
  from = topic.in
  filter {
    when = valeu != ""
  }
  emit {
    to = topic.out
  }
}
