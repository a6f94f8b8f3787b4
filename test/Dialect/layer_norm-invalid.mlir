// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @scale_width(%x: tensor<1x4x768xf32>) {
  %g = lithe.weight "g" : tensor<512xf32>
  // expected-error @+1 {{scale has 512 elements but the input width is 768}}
  %y = lithe.layer_norm %x scale %g eps 1.0e-05 : (tensor<1x4x768xf32>, tensor<512xf32>) -> tensor<1x4x768xf32>
  return
}

// -----

func.func @bias_rank(%x: tensor<1x4x8xf32>) {
  %b = lithe.weight "b" : tensor<1x8xf32>
  // expected-error @+1 {{bias must be a vector, got rank 2}}
  %y = lithe.layer_norm %x bias %b eps 1.0e-05 : (tensor<1x4x8xf32>, tensor<1x8xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @epsilon(%x: tensor<1x4x8xf32>) {
  // expected-error @+1 {{epsilon must be positive, got 0}}
  %y = lithe.layer_norm %x eps 0.0 : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @result_shape(%x: tensor<1x4x8xf32>) {
  // expected-error @+1 {{result type 'tensor<1x4x9xf32>' must match the input type 'tensor<1x4x8xf32>'}}
  %y = lithe.layer_norm %x eps 1.0e-05 : (tensor<1x4x8xf32>) -> tensor<1x4x9xf32>
  return
}
