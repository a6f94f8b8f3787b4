// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @affine
// CHECK: lithe.layer_norm %arg0 scale %{{.*}} bias %{{.*}} eps 9.99999974E-6 : (tensor<1x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x?x768xf32>
func.func @affine(%x: tensor<1x?x768xf32>) -> tensor<1x?x768xf32> {
  %g = lithe.weight "ln.weight" : tensor<768xf32>
  %b = lithe.weight "ln.bias" : tensor<768xf32>
  %y = lithe.layer_norm %x scale %g bias %b eps 1.0e-05 : (tensor<1x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x?x768xf32>
  return %y : tensor<1x?x768xf32>
}

// After LayerNorm folding the affine part lives in the next linear layer.
// CHECK-LABEL: func.func @plain
// CHECK: lithe.layer_norm %arg0 eps 9.99999974E-6 : (tensor<1x?x768xf32>) -> tensor<1x?x768xf32>
func.func @plain(%x: tensor<1x?x768xf32>) -> tensor<1x?x768xf32> {
  %y = lithe.layer_norm %x eps 1.0e-05 : (tensor<1x?x768xf32>) -> tensor<1x?x768xf32>
  return %y : tensor<1x?x768xf32>
}

// Scale only, and the huge epsilon of published LN-free checkpoints.
// CHECK-LABEL: func.func @scale_only
// CHECK: lithe.layer_norm %arg0 scale %{{.*}} eps 9.99999995E+11
func.func @scale_only(%x: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %g = lithe.weight "ln.weight" : tensor<64xf32>
  %y = lithe.layer_norm %x scale %g eps 1.0e12 : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @center
// CHECK: lithe.center %arg0 : (tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
// CHECK: lithe.center %{{.*}} scale %{{.*}} bias %{{.*}} : (tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
func.func @center(%x: tensor<1x?x64xf32>) -> tensor<1x?x64xf32> {
  %y = lithe.center %x : (tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
  %g = lithe.weight "g" : tensor<64xf32>
  %b = lithe.weight "b" : tensor<64xf32>
  %z = lithe.center %y scale %g bias %b : (tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
  return %z : tensor<1x?x64xf32>
}
