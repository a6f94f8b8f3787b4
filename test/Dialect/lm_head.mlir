// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// Tied head: the table is the token embedding.
// CHECK-LABEL: func.func @tied
// CHECK: %[[WTE:.*]] = lithe.weight "wte" : tensor<50257x768xf32>
// CHECK: lithe.embedding %[[WTE]]
// CHECK: lithe.lm_head %{{.*}}, %[[WTE]] : (tensor<1x?x768xf32>, tensor<50257x768xf32>) -> tensor<1x?x50257xf32>
func.func @tied(%ids: tensor<1x?xi64>) -> tensor<1x?x50257xf32> {
  %wte = lithe.weight "wte" : tensor<50257x768xf32>
  %x = lithe.embedding %wte[%ids] : tensor<50257x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
  %l = lithe.lm_head %x, %wte : (tensor<1x?x768xf32>, tensor<50257x768xf32>) -> tensor<1x?x50257xf32>
  return %l : tensor<1x?x50257xf32>
}

// CHECK-LABEL: func.func @int8
// CHECK: lithe.lm_head %arg0, %{{.*}} table_scale %{{.*}} : (tensor<1x1x64xf32>, tensor<100x64xi8>, tensor<100xf32>) -> tensor<1x1x100xf32>
func.func @int8(%x: tensor<1x1x64xf32>) -> tensor<1x1x100xf32> {
  %t = lithe.weight "head.q8" : tensor<100x64xi8>
  %s = lithe.weight "head.scale" : tensor<100xf32>
  %l = lithe.lm_head %x, %t table_scale %s : (tensor<1x1x64xf32>, tensor<100x64xi8>, tensor<100xf32>) -> tensor<1x1x100xf32>
  return %l : tensor<1x1x100xf32>
}
