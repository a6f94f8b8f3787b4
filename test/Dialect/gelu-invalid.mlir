// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @unknown_form(%x: tensor<4xf32>) {
  // expected-error @+2 {{expected ::lithe::GeluApproximation to be one of: none, tanh}}
  // expected-error @+1 {{failed to parse Lithe_GeluApproximationAttr parameter}}
  %a = lithe.gelu %x sigmoid : tensor<4xf32>
  return
}

// -----

func.func @int_input(%x: tensor<4xi32>) {
  // expected-error @+1 {{must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %a = lithe.gelu %x tanh : tensor<4xi32>
  return
}
