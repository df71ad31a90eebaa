variable "partitions" {
  type = number
}

app "t" {
  partitions = var.partitions
}
