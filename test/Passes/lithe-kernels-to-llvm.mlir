// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/k.lwt wte:f32:16x8:1 wpe:f32:8x8:1 g:f32:8:1 lin.packed:i8:1024:0 t8:i8:16x8:1 t8s:f32:16:1 hb:f32:16:0
// RUN: cd %t && lithe-opt %s --lithe-kernels-to-llvm=model-name=tiny\ main-query=lithe_main_query | FileCheck %s
// RUN: cd %t && lithe-opt %s --lithe-kernels-to-llvm | FileCheck %s --check-prefix=DEFAULT
// RUN: sed 's/lithe_k.arena %%arena\[0\]/lithe_k.arena %%arena/' %s > %t/unplanned.mlir
// RUN: cd %t && not lithe-opt unplanned.mlir --lithe-kernels-to-llvm 2>&1 | FileCheck %s --check-prefix=UNPLANNED
// RUN: sed 's/"hb"/"nope"/' %s > %t/missing.mlir
// RUN: cd %t && not lithe-opt missing.mlir --lithe-kernels-to-llvm 2>&1 | FileCheck %s --check-prefix=MISSING

// Kernels are declared from runtime/include/lithe/runtime/kernels.h's
// prototypes; buffers become pointers: weights at their offsets in the
// file, arena slots at their planned offsets, cache planes loaded from the
// context's tables, the position view at row `past` (8 floats a row).
// CHECK-DAG: llvm.func @lithe_embedding(!llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr)
// CHECK-DAG: llvm.func @lithe_kv_append(!llvm.ptr, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, !llvm.ptr, i64) -> i32
// CHECK: llvm.func internal @lithe_tiny_forward(%[[W:[a-z0-9_]+]]: !llvm.ptr, %[[A:[a-z0-9_]+]]: !llvm.ptr, %[[KS:[a-z0-9_]+]]: !llvm.ptr, %[[VS:[a-z0-9_]+]]: !llvm.ptr, %[[IDS:[a-z0-9_]+]]: !llvm.ptr, %[[ROWS:[a-z0-9_]+]]: i64, %[[PAST:[a-z0-9_]+]]: i64, %[[H:[a-z0-9_]+]]: !llvm.ptr) -> i32
// CHECK: llvm.getelementptr %[[KS]][{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.load
// CHECK: llvm.call @lithe_embedding(
// CHECK: %[[ROW:[a-z0-9_]+]] = llvm.mul %[[PAST]], %{{.*}} : i64
// CHECK: llvm.getelementptr %{{.*}}[%[[ROW]]]
// CHECK: llvm.call @lithe_add(
// CHECK: llvm.call @lithe_linear({{.*}}) : (!llvm.ptr, i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i32) -> ()
// CHECK: %[[S:[a-z0-9_]+]] = llvm.call @lithe_kv_append(
// CHECK: llvm.call @lithe_attention(
// CHECK: llvm.call @lithe_center(
// CHECK: llvm.call @lithe_affine_rows(
// CHECK: llvm.call @lithe_layer_norm({{.*}}, %[[H]])
// CHECK: llvm.return %[[S]] : i32
// CHECK-LABEL: llvm.func internal @lithe_tiny_head(
// CHECK: llvm.call @lithe_lm_head_q8(
// CHECK: llvm.call @lithe_add_rows(
// The ABI: private constants, one exported query, the weak main alias.
// CHECK: llvm.mlir.global internal constant @lithe_tiny_config(dense<[6, 16, 8, 1, 8, 2048, 1, 8, 4, 0]> : tensor<10xi64>)
// CHECK: llvm.mlir.global internal constant @lithe_tiny_cache_shapes(dense<[2, 4]> : tensor<2xi64>)
// CHECK: llvm.func @lithe_tiny_query(
// CHECK: llvm.func weak @lithe_main_query(
// CHECK-NOT: lithe_k.

// DEFAULT: llvm.func @lithe_model_query(
// DEFAULT-NOT: lithe_main_query

// UNPLANNED: error: lithe-kernels-to-llvm: an arena slot has no offset (run lithe-plan-buffers first)
// MISSING: error: lithe-kernels-to-llvm: weight 'nope' is not in k.lwt (run lithe-write-weights first)
module attributes {lithe.weights = "k.lwt", lithe_k.arena_bytes = 2048 : i64, lithe_k.cache_shapes = array<i64: 2, 4>,
                   lithe_k.capacity = 8 : i64, lithe_k.layers = 1 : i64} {
  func.func @forward(%w: !lithe_k.weights, %arena: !lithe_k.arena, %ks: !lithe_k.caches, %vs: !lithe_k.caches,
                     %ids: !lithe_k.buf<?xi64>, %rows: index, %past: index, %hidden: !lithe_k.buf<?x8xf32>) -> i32 {
    %zero = arith.constant 0 : i32
    %kp = lithe_k.cache_plane %ks[0] : !lithe_k.caches -> <2x8x4xf32>
    %vp = lithe_k.cache_plane %vs[0] : !lithe_k.caches -> <2x8x4xf32>
    %x = lithe_k.arena %arena[0] : <?x8xf32>
    %wte = lithe_k.weight %w["wte"] : <16x8xf32>
    lithe_k.embedding %wte[%ids] rows %rows -> %x : <16x8xf32>, <?xi64> -> <?x8xf32>
    %wpe = lithe_k.weight %w["wpe"] : <8x8xf32>
    %pos = lithe_k.table_rows %wpe[%past] : <8x8xf32> -> <?x8xf32>
    lithe_k.add %x, %pos rows %rows -> %x : <?x8xf32>, <?x8xf32> -> <?x8xf32>
    %q = lithe_k.arena %arena[256] : <?x8xf32>
    %lin = lithe_k.weight %w["lin.packed"] cpu_panels : <8x8xf32>
    lithe_k.linear %x rows %rows, %lin -> %q : <?x8xf32>, <8x8xf32> -> <?x8xf32>
    %s = lithe_k.kv_append %q, %q rows %rows -> %kp, %vp[%past] : <?x8xf32> -> <2x8x4xf32>
    %status = arith.ori %zero, %s : i32
    %o = lithe_k.arena %arena[512] : <?x8xf32>
    lithe_k.attention %q rows %rows, %kp, %vp[%past] scale 5.000000e-01 causal -> %o : <?x8xf32>, <2x8x4xf32> -> <?x8xf32>
    %c = lithe_k.arena %arena[768] : <?x8xf32>
    lithe_k.center %o rows %rows -> %c : <?x8xf32> -> <?x8xf32>
    %g = lithe_k.weight %w["g"] : <8xf32>
    lithe_k.affine_rows %c rows %rows scale %g : !lithe_k.buf<8xf32> : <?x8xf32>
    lithe_k.layer_norm %c rows %rows eps 1.0e-05 -> %hidden : <?x8xf32> -> <?x8xf32>
    return %status : i32
  }
  func.func @head(%w: !lithe_k.weights, %hidden: !lithe_k.buf<?x8xf32>, %rows: index, %logits: !lithe_k.buf<?x16xf32>) {
    %t = lithe_k.weight %w["t8"] : <16x8xi8>
    %ts = lithe_k.weight %w["t8s"] : <16xf32>
    lithe_k.lm_head %hidden rows %rows, %t table_scale %ts : !lithe_k.buf<16xf32> -> %logits : <?x8xf32>, <16x8xi8> -> <?x16xf32>
    %b = lithe_k.weight %w["hb"] : <16xf32>
    lithe_k.add_rows %logits rows %rows, %b : <?x16xf32>, <16xf32>
    return
  }
}
