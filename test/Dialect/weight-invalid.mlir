// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @empty_name() {
  // expected-error @+1 {{needs a non-empty weight name}}
  %0 = lithe.weight "" : tensor<4xf32>
  return
}

// -----

func.func @dynamic_shape() {
  // expected-error @+1 {{weight 'w' must have a static shape, got 'tensor<?x4xf32>'}}
  %0 = lithe.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @bad_element_type() {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 1-bit signless integer or 4-bit signless integer or 8-bit signless integer or 32-bit signless integer or 64-bit signless integer values}}
  %0 = lithe.weight "w" : tensor<4xf64>
  return
}
