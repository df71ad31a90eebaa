app "t" {}

model "Node" {
  field "next" {
    type = model.Node
  }
}
