app "t" {}

topic "in" {
  partitions = 4
}

topic "out" {
  partitions = "four"
}

table "w" {
  value = number
  window "hopping" {
    size = "1m"
    step = "2m"
  }
}

agent "a" {
  from    = topic.inn
  handler = "enrich"
}
