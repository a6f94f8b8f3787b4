// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/w.lwt q:i8:8x40:1 qs:f32:2x40:0.5 t:i8:40x8:1 ts:f32:40x2:0.5
// RUN: cd %t && lithe-opt %s --lithe-pack-weights --lithe-write-weights=file=%t/packed.lwt | FileCheck %s
// RUN: lithe-weights list %t/packed.lwt | FileCheck %s --check-prefix=FILE

// An int4 weight points at its packed copy (lithe_pack_linear_q4): 2 groups
// x 64 padded columns of scales (512 bytes), then 2 panels of 8 / 4 blocks
// of 64 bytes (256 bytes); the linear keeps its group (lithe_linear_q4).
// CHECK: %[[Q:.*]] = lithe_k.weight %arg2["q.packed"] cpu_panels : <8x40xi4>
// CHECK: lithe_k.linear %{{.*}} rows %arg1, %[[Q]] group 4 ->
// CHECK-NOT: weight_scale
// An int4 LM head's table [40, 8] becomes the q4 panels of its transpose
// (the same 768 bytes), computed as a linear.
// CHECK: %[[T:.*]] = lithe_k.weight %arg2["t.packed"] cpu_panels : <40x8xi4>
// CHECK: lithe_k.lm_head %{{.*}} rows %arg1, %[[T]] group 4 ->
// FILE-DAG: q.packed i8 768 768
// FILE-DAG: t.packed i8 768 768
module attributes {lithe.weights = "w.lwt"} {
  func.func @forward(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights) {
    %x = lithe_k.arena %arena : <?x8xf32>
    %y = lithe_k.arena %arena : <?x40xf32>
    %q = lithe_k.weight %w["q"] : <8x40xi4>
    %qs = lithe_k.weight %w["qs"] : <2x40xf32>
    lithe_k.linear %x rows %rows, %q group 4 weight_scale %qs : !lithe_k.buf<2x40xf32> -> %y : <?x8xf32>, <8x40xi4> -> <?x40xf32>
    %t = lithe_k.weight %w["t"] : <40x8xi4>
    %ts = lithe_k.weight %w["ts"] : <40x2xf32>
    lithe_k.lm_head %x rows %rows, %t group 4 table_scale %ts : !lithe_k.buf<40x2xf32> -> %y : <?x8xf32>, <40x8xi4> -> <?x40xf32>
    return
  }
}
