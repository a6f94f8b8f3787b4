// RUN: lithe-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{kv_cache needs at least one head, got 0}}
func.func @no_heads(%a: !lithe.kv_cache<0x64xf32>) {
  return
}

// -----

// expected-error @+1 {{kv_cache element type must be f32, f16, bf16 or i8, got 'i32'}}
func.func @int_cache(%a: !lithe.kv_cache<12x64xi32>) {
  return
}

// -----

// expected-error @+1 {{expected !lithe.kv_cache<HEADSxHEAD_DIMxTYPE>, got 3 dimensions}}
func.func @rank3(%a: !lithe.kv_cache<2x12x64xf32>) {
  return
}
