// RUN: lithe-weights create %t.lwt wte:f32:16x8 ln.weight:f32:8 q8:i8:8x4
// RUN: lithe-opt %s -split-input-file -verify-diagnostics --lithe-check-weights=file=%t.lwt
// The file named by the module attribute, resolved against dir=:
// RUN: mkdir -p %t.dir && cp %t.lwt %t.dir/model.lwt
// RUN: lithe-opt %S/Inputs/weights-attr.mlir --lithe-check-weights="dir=%t.dir verify-checksum=true" | FileCheck %s --check-prefix=ATTR
// ATTR: lithe.weight "wte"

func.func @all_present() -> (tensor<16x8xf32>, tensor<8xf32>, tensor<8x4xi8>) {
  %0 = lithe.weight "wte" : tensor<16x8xf32>
  %1 = lithe.weight "ln.weight" : tensor<8xf32>
  %2 = lithe.weight "q8" : tensor<8x4xi8>
  return %0, %1, %2 : tensor<16x8xf32>, tensor<8xf32>, tensor<8x4xi8>
}

// -----

func.func @missing() -> tensor<8xf32> {
  // expected-error-re @+1 {{weight 'ln.bias' is not in {{.*}}.lwt}}
  %0 = lithe.weight "ln.bias" : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @wrong_dtype() -> tensor<8x4xf32> {
  // expected-error-re @+1 {{weight 'q8' is i8 in {{.*}}.lwt but the IR says 'f32'}}
  %0 = lithe.weight "q8" : tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @wrong_shape() -> tensor<8x16xf32> {
  // expected-error-re @+1 {{weight 'wte' has shape 16x8 in {{.*}}.lwt but the IR says 8x16}}
  %0 = lithe.weight "wte" : tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}
