// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @mismatch(%x: tensor<1x4x8xf32>, %y: tensor<1x4x9xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %z = "lithe.add"(%x, %y) : (tensor<1x4x8xf32>, tensor<1x4x9xf32>) -> tensor<1x4x8xf32>
  return
}
