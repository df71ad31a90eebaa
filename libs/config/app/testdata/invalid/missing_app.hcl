topic "in" {
  partitions = 4
}

