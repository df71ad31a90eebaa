app "t" {}

app "u" {}
