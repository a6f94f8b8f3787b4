// RUN: lithe-opt %s -split-input-file -verify-diagnostics
// The verifiers name the dimension that is wrong.

func.func @linear_in(%x: !lithe_k.buf<?x8xf32>, %y: !lithe_k.buf<?x16xf32>, %w: !lithe_k.weights, %r: index) {
  %wp = lithe_k.weight %w["w"] cpu_panels : <4x16xf32>
  // expected-error @+1 {{input has 8 columns, expected 4}}
  lithe_k.linear %x rows %r, %wp -> %y : <?x8xf32>, <4x16xf32> -> <?x16xf32>
  return
}

// -----

func.func @linear_scale(%x: !lithe_k.buf<?x8xf32>, %w: !lithe_k.weights, %r: index) {
  %q = lithe_k.weight %w["q"] : <8x8xi8>
  // expected-error @+1 {{a row-major i8 weight needs weight_scale}}
  lithe_k.linear %x rows %r, %q -> %x : <?x8xf32>, <8x8xi8> -> <?x8xf32>
  return
}

// -----

func.func @linear_i4_group(%x: !lithe_k.buf<?x8xf32>, %w: !lithe_k.weights, %r: index) {
  %q = lithe_k.weight %w["q"] cpu_panels : <8x8xi4>
  // expected-error @+1 {{an i4 weight needs a group}}
  lithe_k.linear %x rows %r, %q -> %x : <?x8xf32>, <8x8xi4> -> <?x8xf32>
  return
}

// -----

func.func @linear_f32_group(%x: !lithe_k.buf<?x8xf32>, %w: !lithe_k.weights, %r: index) {
  %q = lithe_k.weight %w["q"] cpu_panels : <8x8xf32>
  // expected-error @+1 {{only an i4 weight takes a group}}
  lithe_k.linear %x rows %r, %q group 4 -> %x : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  return
}

// -----

func.func @linear_i4_bad_group(%x: !lithe_k.buf<?x8xf32>, %w: !lithe_k.weights, %r: index) {
  %q = lithe_k.weight %w["q"] cpu_panels : <8x8xi4>
  // expected-error @+1 {{group 6 must be a positive multiple of 4 dividing 8}}
  lithe_k.linear %x rows %r, %q group 6 -> %x : <?x8xf32>, <8x8xi4> -> <?x8xf32>
  return
}

// -----

func.func @linear_i4_scale_shape(%x: !lithe_k.buf<?x8xf32>, %w: !lithe_k.weights, %r: index) {
  %q = lithe_k.weight %w["q"] : <8x8xi4>
  %s = lithe_k.weight %w["s"] : <8xf32>
  // expected-error @+1 {{an i4 weight's weight_scale must be [2, 8] f32, got '!lithe_k.buf<8xf32>'}}
  lithe_k.linear %x rows %r, %q group 4 weight_scale %s : !lithe_k.buf<8xf32> -> %x : <?x8xf32>, <8x8xi4> -> <?x8xf32>
  return
}

// -----

func.func @lm_head_i4_scales(%x: !lithe_k.buf<?x8xf32>, %y: !lithe_k.buf<?x40xf32>, %w: !lithe_k.weights, %r: index) {
  %t = lithe_k.weight %w["t"] : <40x8xi4>
  // expected-error @+1 {{a row-major i4 table needs table_scale}}
  lithe_k.lm_head %x rows %r, %t group 4 -> %y : <?x8xf32>, <40x8xi4> -> <?x40xf32>
  return
}

// -----

func.func @attention_heads(%x: !lithe_k.buf<?x8xf32>, %c: !lithe_k.caches, %r: index, %p: index) {
  %kp = lithe_k.cache_plane %c[0] : !lithe_k.caches -> <3x8x4xf32>
  // expected-error @+1 {{rows of 8 values do not fill 3 heads of 4}}
  lithe_k.attention %x rows %r, %kp, %kp[%p] scale 5.000000e-01 -> %x : <?x8xf32>, <3x8x4xf32> -> <?x8xf32>
  return
}

// -----

func.func @head_scale(%x: !lithe_k.buf<?x8xf32>, %l: !lithe_k.buf<?x16xf32>, %w: !lithe_k.weights, %r: index) {
  %t = lithe_k.weight %w["t"] : <16x8xi8>
  // expected-error @+1 {{an i8 table needs table_scale}}
  lithe_k.lm_head %x rows %r, %t -> %l : <?x8xf32>, <16x8xi8> -> <?x16xf32>
  return
}

// -----

func.func @arena_static(%a: !lithe_k.arena) {
  // expected-error @+1 {{an arena slot must be a [?, cols] f32 buffer (one row per token), got '!lithe_k.buf<4x8xf32>'}}
  %x = lithe_k.arena %a : <4x8xf32>
  return
}

// -----

// expected-error @+1 {{only a buffer's first dimension (its rows) may be '?'}}
func.func @buf_dims(%x: !lithe_k.buf<4x?xf32>) {
  return
}

// -----

func.func @add_cols(%x: !lithe_k.buf<?x8xf32>, %y: !lithe_k.buf<?x4xf32>, %r: index) {
  // expected-error @+1 {{rhs has 4 columns, expected 8}}
  lithe_k.add %x, %y rows %r -> %x : <?x8xf32>, <?x4xf32> -> <?x8xf32>
  return
}

// -----

// expected-error @+1 {{cache planes hold f32, f16 or i8, got 'bf16'}}
func.func @caches_bf16(%c: !lithe_k.caches<bf16>) {
  return
}

// -----

func.func @plane_type(%c: !lithe_k.caches<f16>) {
  // expected-error @+1 {{a cache plane is a static [heads, capacity, head_dim] buffer of its caches' 'f16', got '!lithe_k.buf<2x8x4xf32>'}}
  %p = lithe_k.cache_plane %c[0] : !lithe_k.caches<f16> -> <2x8x4xf32>
  return
}
