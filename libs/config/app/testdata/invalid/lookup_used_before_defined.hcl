app "t" {}

topic "in" {
  partitions = 4
}

topic "out" {
  partitions = 4
}

table "users" {
  global = true
  source = topic.in
}

agent "a" {
  from = topic.in
  filter {
    when = lookup.user != null
  }
  lookup "user" {
    table = table.users
    key   = value.user
  }
  emit {
    to = topic.out
  }
}
