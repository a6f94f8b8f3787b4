// RUN: lithe-opt %s -split-input-file -verify-diagnostics

// Large tensors are weights: they must not be inlined into the IR.
func.func @too_large() {
  // expected-error @+1 {{holds 20000 elements; constants larger than 16384 elements must be lithe.weight references}}
  %0 = lithe.constant dense<0.0> : tensor<20000xf32>
  return
}
