// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @width(%x: tensor<1x4x32xf32>) {
  %t = lithe.weight "wte" : tensor<100x64xf32>
  // expected-error @+1 {{input width 32 does not match the table width 64}}
  %l = lithe.lm_head %x, %t : (tensor<1x4x32xf32>, tensor<100x64xf32>) -> tensor<1x4x100xf32>
  return
}

// -----

func.func @vocab(%x: tensor<1x4x64xf32>) {
  %t = lithe.weight "wte" : tensor<100x64xf32>
  // expected-error @+1 {{result has 99 logits but the vocabulary has 100 rows}}
  %l = lithe.lm_head %x, %t : (tensor<1x4x64xf32>, tensor<100x64xf32>) -> tensor<1x4x99xf32>
  return
}

// -----

func.func @int8_without_scale(%x: tensor<1x4x64xf32>) {
  %t = lithe.weight "wte" : tensor<100x64xi8>
  // expected-error @+1 {{int8 table needs table_scale (one f32 scale per channel)}}
  %l = lithe.lm_head %x, %t : (tensor<1x4x64xf32>, tensor<100x64xi8>) -> tensor<1x4x100xf32>
  return
}

// -----

func.func @int4_table(%x: tensor<1x4x64xf32>) {
  %t = lithe.weight "t" : tensor<100x64xi4>
  // expected-error @+1 {{int4 table needs table_scale (one f32 scale per row and group of columns)}}
  %l = lithe.lm_head %x, %t : (tensor<1x4x64xf32>, tensor<100x64xi4>) -> tensor<1x4x100xf32>
  return
}

// -----

func.func @int4_table_scale(%x: tensor<1x4x64xf32>) {
  %t = lithe.weight "t" : tensor<100x64xi4>
  %s = lithe.weight "s" : tensor<100x3xf32>
  // expected-error @+1 {{int4 table needs table_scale of shape [100, width / group] (group a multiple of 4 dividing 64), got 'tensor<100x3xf32>'}}
  %l = lithe.lm_head %x, %t table_scale %s : (tensor<1x4x64xf32>, tensor<100x64xi4>, tensor<100x3xf32>) -> tensor<1x4x100xf32>
  return
}
