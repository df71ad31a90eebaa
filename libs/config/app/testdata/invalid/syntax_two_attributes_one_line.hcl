app "t" {}

topic "in" { partitions = 4  value = json }
