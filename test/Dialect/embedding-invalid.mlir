// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @width_mismatch(%ids: tensor<1x4xi64>) {
  %t = lithe.weight "t" : tensor<16x8xf32>
  // expected-error @+1 {{result width 9 differs from the table width 8}}
  %e = lithe.embedding %t[%ids] : tensor<16x8xf32>, tensor<1x4xi64> -> tensor<1x4x9xf32>
  return
}

// -----

func.func @rank_mismatch(%ids: tensor<1x4xi64>) {
  %t = lithe.weight "t" : tensor<16x8xf32>
  // expected-error @+1 {{result must have rank 3 (ids rank + 1), got 2}}
  %e = lithe.embedding %t[%ids] : tensor<16x8xf32>, tensor<1x4xi64> -> tensor<4x8xf32>
  return
}

// -----

func.func @table_rank(%ids: tensor<1x4xi64>) {
  %t = lithe.weight "t" : tensor<16xf32>
  // expected-error @+1 {{table must be [rows, width], got rank 1}}
  %e = lithe.embedding %t[%ids] : tensor<16xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @position_shape(%ids: tensor<1x4xi64>, %past: index) {
  // expected-error @+1 {{result shape 'tensor<1x5xi64>' must match the ids shape 'tensor<1x4xi64>'}}
  %p = lithe.position_ids %ids, %past : tensor<1x4xi64> -> tensor<1x5xi64>
  return
}
