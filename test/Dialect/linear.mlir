// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @conv1d
// CHECK: lithe.linear %arg0, %{{.*}} bias %{{.*}} : (tensor<1x?x768xf32>, tensor<768x2304xf32>, tensor<2304xf32>) -> tensor<1x?x2304xf32>
func.func @conv1d(%x: tensor<1x?x768xf32>) -> tensor<1x?x2304xf32> {
  %w = lithe.weight "c_attn.weight" : tensor<768x2304xf32>
  %b = lithe.weight "c_attn.bias" : tensor<2304xf32>
  %y = lithe.linear %x, %w bias %b : (tensor<1x?x768xf32>, tensor<768x2304xf32>, tensor<2304xf32>) -> tensor<1x?x2304xf32>
  return %y : tensor<1x?x2304xf32>
}

// CHECK-LABEL: func.func @no_bias
// CHECK: lithe.linear %arg0, %{{.*}} : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
func.func @no_bias(%x: tensor<4x64xf32>) -> tensor<4x32xf32> {
  %w = lithe.weight "w" : tensor<64x32xf32>
  %y = lithe.linear %x, %w : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Weight-only int8, one scale per output channel.
// CHECK-LABEL: func.func @int8
// CHECK: lithe.linear %arg0, %{{.*}} bias %{{.*}} weight_scale %{{.*}} : (tensor<1x?x768xf32>, tensor<768x3072xi8>, tensor<3072xf32>, tensor<3072xf32>) -> tensor<1x?x3072xf32>
func.func @int8(%x: tensor<1x?x768xf32>) -> tensor<1x?x3072xf32> {
  %w = lithe.weight "c_fc.weight.q8" : tensor<768x3072xi8>
  %s = lithe.weight "c_fc.weight.scale" : tensor<3072xf32>
  %b = lithe.weight "c_fc.bias" : tensor<3072xf32>
  %y = lithe.linear %x, %w bias %b weight_scale %s : (tensor<1x?x768xf32>, tensor<768x3072xi8>, tensor<3072xf32>, tensor<3072xf32>) -> tensor<1x?x3072xf32>
  return %y : tensor<1x?x3072xf32>
}

// int4 weight-only quantization: grouped scales [in / group, out].
// CHECK-LABEL: func.func @int4
// CHECK: lithe.linear %arg0, %{{.*}} weight_scale %{{.*}} : (tensor<1x?x768xf32>, tensor<768x2304xi4>, tensor<12x2304xf32>) -> tensor<1x?x2304xf32>
func.func @int4(%x: tensor<1x?x768xf32>) -> tensor<1x?x2304xf32> {
  %w = lithe.weight "w.q4" : tensor<768x2304xi4>
  %s = lithe.weight "w.q4scale" : tensor<12x2304xf32>
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x?x768xf32>, tensor<768x2304xi4>, tensor<12x2304xf32>) -> tensor<1x?x2304xf32>
  return %y : tensor<1x?x2304xf32>
}
