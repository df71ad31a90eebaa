app "t" {}

model "M" {
  field "name" {
    type = string
  }
}

topic "in" {
  partitions = 4
  value      = model.M
}

topic "out" {
  partitions = 4
}

agent "a" {
  from = topic.in
  filter {
    when = value.name
  }
  emit {
    to = topic.out
  }
}
