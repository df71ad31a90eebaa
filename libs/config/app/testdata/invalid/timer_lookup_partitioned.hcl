app "t" {}

topic "in" {
  partitions = 4
}

table "counts" {
  value = number
}

timer "t" {
  every = "1m"
  lookup "c" {
    table = table.counts
  }
  emit {
    to    = topic.in
    value = lookup.c
  }
}
