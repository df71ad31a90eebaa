app "t" {}

model "Order" {
  field "user" {
    type = string
  }
}

topic "orders" {
  partitions = 4
  value      = model.Order
}

topic "out" {
  partitions = 4
}

table "users" {
  value = json
}

agent "enrich_orders" {
  from = topic.orders
  lookup "user" {
    table = table.users
    key   = value.user
  }
  emit {
    to = topic.out
  }
}
