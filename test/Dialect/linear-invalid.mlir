// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @in_width(%x: tensor<1x4x32xf32>) {
  %w = lithe.weight "w" : tensor<64x16xf32>
  // expected-error @+1 {{input width 32 does not match the weight's input dimension 64 (weight is [in, out] = [64, 16])}}
  %y = lithe.linear %x, %w : (tensor<1x4x32xf32>, tensor<64x16xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @out_width(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xf32>
  // expected-error @+1 {{result width 17 does not match the weight's output dimension 16}}
  %y = lithe.linear %x, %w : (tensor<1x4x64xf32>, tensor<64x16xf32>) -> tensor<1x4x17xf32>
  return
}

// -----

func.func @batch(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xf32>
  // expected-error @+1 {{result dimension 1 is 5 but input dimension 1 is 4}}
  %y = lithe.linear %x, %w : (tensor<1x4x64xf32>, tensor<64x16xf32>) -> tensor<1x5x16xf32>
  return
}

// -----

func.func @bias(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xf32>
  %b = lithe.weight "b" : tensor<64xf32>
  // expected-error @+1 {{bias has 64 elements but the output width is 16}}
  %y = lithe.linear %x, %w bias %b : (tensor<1x4x64xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @int8_without_scale(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi8>
  // expected-error @+1 {{int8 weight needs weight_scale (one f32 scale per channel)}}
  %y = lithe.linear %x, %w : (tensor<1x4x64xf32>, tensor<64x16xi8>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @scale_on_float(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xf32>
  %s = lithe.weight "s" : tensor<16xf32>
  // expected-error @+1 {{weight_scale is only allowed with an int8 weight, got 'f32'}}
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x4x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @scale_channels(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi8>
  %s = lithe.weight "s" : tensor<64xf32>
  // expected-error @+1 {{weight_scale has 64 elements but the channel count is 16}}
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x4x64xf32>, tensor<64x16xi8>, tensor<64xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @int4_without_scale(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi4>
  // expected-error @+1 {{int4 weight needs weight_scale (one f32 scale per group of inputs and channel)}}
  %y = lithe.linear %x, %w : (tensor<1x4x64xf32>, tensor<64x16xi4>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @int4_vector_scale(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi4>
  %s = lithe.weight "s" : tensor<16xf32>
  // expected-error @+1 {{int4 weight needs weight_scale of shape [in / group, 16], got 'tensor<16xf32>'}}
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x4x64xf32>, tensor<64x16xi4>, tensor<16xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @int4_groups(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi4>
  %s = lithe.weight "s" : tensor<5x16xf32>
  // expected-error @+1 {{weight_scale has 5 groups, which do not cut the 64 inputs into groups of a multiple of 4}}
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x4x64xf32>, tensor<64x16xi4>, tensor<5x16xf32>) -> tensor<1x4x16xf32>
  return
}

// -----

func.func @int8_grouped_scale(%x: tensor<1x4x64xf32>) {
  %w = lithe.weight "w" : tensor<64x16xi8>
  %s = lithe.weight "s" : tensor<2x16xf32>
  // expected-error @+1 {{weight_scale must be a vector, got rank 2}}
  %y = lithe.linear %x, %w weight_scale %s : (tensor<1x4x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>) -> tensor<1x4x16xf32>
  return
}
