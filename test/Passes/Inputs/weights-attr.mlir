module attributes {lithe.weights = "model.lwt"} {
  func.func @f() -> tensor<16x8xf32> {
    %0 = lithe.weight "wte" : tensor<16x8xf32>
    return %0 : tensor<16x8xf32>
  }
}
