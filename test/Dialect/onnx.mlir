// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @nodes
// CHECK: %[[S:.*]]:3 = lithe.onnx "Split"(%{{.*}}, %{{.*}}) {node_name = "/h.0/attn/Split", onnx_attrs = {axis = 2 : i64}, opset = 17 : i64} : (tensor<1x?x192xf32>, tensor<3xi64>) -> (tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
// CHECK: lithe.onnx "FusedMatMul"(%[[S]]#0, %{{.*}}) {domain = "com.microsoft", opset = 1 : i64}
// CHECK: lithe.onnx "Shape"(%{{.*}}) {opset = 14 : i64} : (tensor<1x?x192xf32>) -> tensor<3xi64>
func.func @nodes(%x: tensor<1x?x192xf32>, %w: tensor<64x64xf32>) -> (tensor<1x?x64xf32>, tensor<3xi64>) {
  %split = lithe.constant dense<[64, 64, 64]> : tensor<3xi64>
  %q, %k, %v = lithe.onnx "Split"(%x, %split) {opset = 17 : i64, node_name = "/h.0/attn/Split", onnx_attrs = {axis = 2 : i64}}
      : (tensor<1x?x192xf32>, tensor<3xi64>) -> (tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
  %m = lithe.onnx "FusedMatMul"(%q, %w) {domain = "com.microsoft", opset = 1 : i64}
      : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
  %s = lithe.onnx "Shape"(%x) {opset = 14 : i64} : (tensor<1x?x192xf32>) -> tensor<3xi64>
  return %m, %s : tensor<1x?x64xf32>, tensor<3xi64>
}
