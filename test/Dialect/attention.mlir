// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// RUN: lithe-opt %s --mlir-print-op-generic | lithe-opt | FileCheck %s

// A layer that appends its keys and values to its cache, then attends.
// CHECK-LABEL: func.func @append_and_attend
// CHECK: lithe.attention %arg0, %arg1, %arg2 cache %arg3[%arg4] heads 12 head_dim 64 scale 1.250000e-01 causal : (tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32>, !lithe.kv_cache<12x64xf32>, index) -> tensor<1x?x768xf32>
func.func @append_and_attend(%q: tensor<1x?x768xf32>, %k: tensor<1x?x768xf32>, %v: tensor<1x?x768xf32>,
                             %cache: !lithe.kv_cache<12x64xf32>, %past: index) -> tensor<1x?x768xf32> {
  %o = lithe.attention %q, %k, %v cache %cache[%past] heads 12 head_dim 64 scale 0.125 causal
      : (tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32>, !lithe.kv_cache<12x64xf32>, index) -> tensor<1x?x768xf32>
  return %o : tensor<1x?x768xf32>
}

// Cross-layer KV sharing: the second layer only reads the first one's cache.
// CHECK-LABEL: func.func @shared_cache
// CHECK: %[[A:.*]] = lithe.attention %arg0, %arg0, %arg0 cache %arg1[%arg2]
// CHECK: lithe.attention %[[A]] cache %arg1[%arg2] heads 2 head_dim 8 scale 3.535530e-01 causal : (tensor<1x?x16xf16>, !lithe.kv_cache<2x8xf16>, index) -> tensor<1x?x16xf16>
func.func @shared_cache(%x: tensor<1x?x16xf16>, %cache: !lithe.kv_cache<2x8xf16>, %past: index) -> tensor<1x?x16xf16> {
  %a = lithe.attention %x, %x, %x cache %cache[%past] heads 2 head_dim 8 scale 0.353553 causal
      : (tensor<1x?x16xf16>, tensor<1x?x16xf16>, tensor<1x?x16xf16>, !lithe.kv_cache<2x8xf16>, index) -> tensor<1x?x16xf16>
  %b = lithe.attention %a cache %cache[%past] heads 2 head_dim 8 scale 0.353553 causal
      : (tensor<1x?x16xf16>, !lithe.kv_cache<2x8xf16>, index) -> tensor<1x?x16xf16>
  return %b : tensor<1x?x16xf16>
}

// Attention writes its cache: CSE must not merge two identical calls, and
// canonicalization must not drop an unused one.
// RUN: lithe-opt %s --canonicalize --cse | FileCheck %s --check-prefix=EFFECTS
// EFFECTS-LABEL: func.func @side_effects
// EFFECTS-COUNT-2: lithe.attention
func.func @side_effects(%q: tensor<1x1x8xf32>, %cache: !lithe.kv_cache<1x8xf32>, %past: index) -> tensor<1x1x8xf32> {
  %unused = lithe.attention %q, %q, %q cache %cache[%past] heads 1 head_dim 8 scale 0.35 causal
      : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>, !lithe.kv_cache<1x8xf32>, index) -> tensor<1x1x8xf32>
  %o = lithe.attention %q, %q, %q cache %cache[%past] heads 1 head_dim 8 scale 0.35 causal
      : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>, !lithe.kv_cache<1x8xf32>, index) -> tensor<1x1x8xf32>
  return %o : tensor<1x1x8xf32>
}
