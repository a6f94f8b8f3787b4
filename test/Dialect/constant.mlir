// RUN: lithe-opt %s | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @shape_constants
// CHECK: lithe.constant dense<[1, -1, 12, 64]> : tensor<4xi64>
// CHECK: lithe.constant dense<1.000000e+00> : tensor<f32>
func.func @shape_constants() -> (tensor<4xi64>, tensor<f32>) {
  %0 = lithe.constant dense<[1, -1, 12, 64]> : tensor<4xi64>
  %1 = lithe.constant dense<1.0> : tensor<f32>
  return %0, %1 : tensor<4xi64>, tensor<f32>
}
