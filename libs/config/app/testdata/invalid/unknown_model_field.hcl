app "t" {}

model "PageView" {
  field "page" {
    type = string
  }
}

topic "views" {
  partitions = 4
  value      = model.PageView
}

topic "out" {
  partitions = 4
}

agent "a" {
  from = topic.views
  filter {
    when = value.pages != ""
  }
  emit {
    to = topic.out
  }
}
