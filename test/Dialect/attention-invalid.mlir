// RUN: lithe-opt %s -split-input-file -verify-diagnostics

// The issue's example: a width that the head count does not divide.
func.func @width_not_divisible(%q: tensor<1x?x768xf32>, %c: !lithe.kv_cache<5x64xf32>, %past: index) {
  // expected-error @+1 {{query width 768 is not divisible by the head count 5}}
  %o = lithe.attention %q, %q, %q cache %c[%past] heads 5 head_dim 64 scale 0.125 causal
      : (tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32>, !lithe.kv_cache<5x64xf32>, index) -> tensor<1x?x768xf32>
  return
}

// -----

func.func @heads_times_dim(%q: tensor<1x?x768xf32>, %c: !lithe.kv_cache<12x32xf32>, %past: index) {
  // expected-error @+1 {{query width 768 != heads (12) x head_dim (32)}}
  %o = lithe.attention %q, %q, %q cache %c[%past] heads 12 head_dim 32 scale 0.125 causal
      : (tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32>, !lithe.kv_cache<12x32xf32>, index) -> tensor<1x?x768xf32>
  return
}

// -----

func.func @key_shape(%q: tensor<1x4x64xf32>, %k: tensor<1x4x32xf32>, %c: !lithe.kv_cache<4x16xf32>, %past: index) {
  // expected-error @+1 {{key type 'tensor<1x4x32xf32>' must match the query type 'tensor<1x4x64xf32>'}}
  %o = lithe.attention %q, %k, %q cache %c[%past] heads 4 head_dim 16 scale 0.25 causal
      : (tensor<1x4x64xf32>, tensor<1x4x32xf32>, tensor<1x4x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @cache_heads(%q: tensor<1x4x64xf32>, %c: !lithe.kv_cache<2x32xf32>, %past: index) {
  // expected-error @+1 {{cache holds 2 heads of 32 but the op has 4 heads of 16}}
  %o = lithe.attention %q, %q, %q cache %c[%past] heads 4 head_dim 16 scale 0.25 causal
      : (tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>, !lithe.kv_cache<2x32xf32>, index) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @key_without_value(%q: tensor<1x4x64xf32>, %c: !lithe.kv_cache<4x16xf32>, %past: index) {
  // expected-error @+1 {{takes keys and values together, or neither}}
  %o = "lithe.attention"(%q, %q, %c, %past) <{num_heads = 4 : i64, head_dim = 16 : i64, scale = 2.5e-01 : f64, causal, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1>}>
      : (tensor<1x4x64xf32>, tensor<1x4x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @rank(%q: tensor<4x64xf32>, %c: !lithe.kv_cache<4x16xf32>, %past: index) {
  // expected-error @+1 {{query must be [batch, seq, width], got rank 2}}
  %o = lithe.attention %q, %q, %q cache %c[%past] heads 4 head_dim 16 scale 0.25 causal
      : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<4x64xf32>
  return
}

// -----

func.func @scale(%q: tensor<1x4x64xf32>, %c: !lithe.kv_cache<4x16xf32>, %past: index) {
  // expected-error @+1 {{scale must be positive, got -1}}
  %o = lithe.attention %q, %q, %q cache %c[%past] heads 4 head_dim 16 scale -1.0 causal
      : (tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x4x64xf32>
  return
}
