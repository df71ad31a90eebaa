app "t" {}

topic "in" {
  partitions = 4
}

topic "out" {
  partitions = 4
}

variable "limit" {
  type    = number
  default = 10
}

agent "a" {
  from = topic.in
  filter {
    when = value.n > var.limt
  }
  emit {
    to = topic.out
  }
}
