// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @forms
// CHECK: lithe.gelu %arg0 tanh : tensor<1x?x3072xf32>
// CHECK: lithe.gelu %{{.*}} none : tensor<1x?x3072xf32>
// GENERIC: "lithe.gelu"(%arg0) <{approximation = #lithe<gelu_approximation tanh>}>
// GENERIC: "lithe.gelu"(%{{.*}}) <{approximation = #lithe<gelu_approximation none>}>
func.func @forms(%x: tensor<1x?x3072xf32>) -> tensor<1x?x3072xf32> {
  %a = lithe.gelu %x tanh : tensor<1x?x3072xf32>
  %b = lithe.gelu %a none : tensor<1x?x3072xf32>
  return %b : tensor<1x?x3072xf32>
}
