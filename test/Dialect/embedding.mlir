// RUN: lithe-opt %s | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @token_and_position
// CHECK: %[[TOK:.*]] = lithe.embedding %{{.*}}[%arg0] : tensor<50257x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
// CHECK: %[[POS:.*]] = lithe.position_ids %arg0, %arg1 : tensor<1x?xi64> -> tensor<1x?xi64>
// CHECK: lithe.embedding %{{.*}}[%[[POS]]] : tensor<1024x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
func.func @token_and_position(%ids: tensor<1x?xi64>, %past: index) -> tensor<1x?x768xf32> {
  %wte = lithe.weight "wte" : tensor<50257x768xf32>
  %wpe = lithe.weight "wpe" : tensor<1024x768xf32>
  %tok = lithe.embedding %wte[%ids] : tensor<50257x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
  %pids = lithe.position_ids %ids, %past : tensor<1x?xi64> -> tensor<1x?xi64>
  %pos = lithe.embedding %wpe[%pids] : tensor<1024x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
  %h = lithe.add %tok, %pos : tensor<1x?x768xf32>
  return %h : tensor<1x?x768xf32>
}

// i32 ids and a static shape are fine too.
// CHECK-LABEL: func.func @i32_ids
// CHECK: lithe.embedding %{{.*}}[%arg0] : tensor<16x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
func.func @i32_ids(%ids: tensor<2x3xi32>) -> tensor<2x3x8xf32> {
  %t = lithe.weight "t" : tensor<16x8xf32>
  %e = lithe.embedding %t[%ids] : tensor<16x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
  return %e : tensor<2x3x8xf32>
}
