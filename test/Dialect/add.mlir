// RUN: lithe-opt %s | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @residual
// CHECK: lithe.add %arg0, %arg1 : tensor<1x?x768xf32>
func.func @residual(%x: tensor<1x?x768xf32>, %y: tensor<1x?x768xf32>) -> tensor<1x?x768xf32> {
  %z = lithe.add %x, %y : tensor<1x?x768xf32>
  return %z : tensor<1x?x768xf32>
}
