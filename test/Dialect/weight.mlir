// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @weights
// CHECK: lithe.weight "transformer.wte.weight" : tensor<50257x768xf32>
// CHECK: lithe.weight "h.0.mlp.c_fc.weight.q8" : tensor<768x3072xi8>
// CHECK: lithe.weight "h.0.ln_1.weight" : tensor<768xbf16>
func.func @weights() -> (tensor<50257x768xf32>, tensor<768x3072xi8>, tensor<768xbf16>) {
  %0 = lithe.weight "transformer.wte.weight" : tensor<50257x768xf32>
  %1 = lithe.weight "h.0.mlp.c_fc.weight.q8" : tensor<768x3072xi8>
  %2 = lithe.weight "h.0.ln_1.weight" : tensor<768xbf16>
  return %0, %1, %2 : tensor<50257x768xf32>, tensor<768x3072xi8>, tensor<768xbf16>
}

// Pure: an unused weight reference disappears under canonicalization, and
// two references to one tensor are merged by CSE.
// RUN: lithe-opt %s --canonicalize --cse | FileCheck %s --check-prefix=CSE
// CSE-LABEL: func.func @dedup
// CSE-COUNT-1: lithe.weight "w"
// CSE-NOT: lithe.weight
func.func @dedup() -> (tensor<4xf32>, tensor<4xf32>) {
  %unused = lithe.weight "unused" : tensor<4xf32>
  %a = lithe.weight "w" : tensor<4xf32>
  %b = lithe.weight "w" : tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
