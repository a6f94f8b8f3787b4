// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/w.lwt w:f32:8x40:iota q:i8:8x8:1 qs:f32:8:0.5 b:f32:40:1
// RUN: cd %t && lithe-opt %s --lithe-pack-weights --lithe-write-weights=file=%t/packed.lwt | FileCheck %s
// RUN: lithe-weights list %t/packed.lwt | FileCheck %s --check-prefix=FILE
// RUN: cd %t && not lithe-opt %s --lithe-pack-weights=target=gpu 2>&1 | FileCheck %s --check-prefix=TARGET

// Linear weights point at their packed copies (the int8 one with its
// scales inside); the packed tensors are made while the file is written:
// f32 panels of 32 columns (8 x 64 x 4 bytes for 40 columns), int8 panels
// (k grouped by 4: 2 x 128 bytes) after 32 scales and 32 column sums
// (4 x 32 + 4 x 32 + 2 x 128).
// CHECK: %[[W:.*]] = lithe_k.weight %arg2["w.packed"] cpu_panels : <8x40xf32>
// CHECK: lithe_k.linear %{{.*}} rows %arg1, %[[W]] bias
// CHECK: %[[Q:.*]] = lithe_k.weight %arg2["q.packed"] cpu_panels : <8x8xi8>
// CHECK: lithe_k.linear %{{.*}} rows %arg1, %[[Q]] -> 
// CHECK-NOT: weight_scale
// CHECK-NOT: "w"]
// FILE-DAG: w.packed i8 2048 2048
// FILE-DAG: q.packed i8 512 512
// FILE-DAG: b f32 40 160
// TARGET: error: lithe-pack-weights: unknown target 'gpu' (known: cpu, cuda)
module attributes {lithe.weights = "w.lwt"} {
  func.func @forward(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights) {
    %x = lithe_k.arena %arena : <?x8xf32>
    %y = lithe_k.arena %arena : <?x40xf32>
    %z = lithe_k.arena %arena : <?x8xf32>
    %wf = lithe_k.weight %w["w"] : <8x40xf32>
    %b = lithe_k.weight %w["b"] : <40xf32>
    lithe_k.linear %x rows %rows, %wf bias %b : !lithe_k.buf<40xf32> -> %y : <?x8xf32>, <8x40xf32> -> <?x40xf32>
    %q = lithe_k.weight %w["q"] : <8x8xi8>
    %qs = lithe_k.weight %w["qs"] : <8xf32>
    lithe_k.linear %x rows %rows, %q weight_scale %qs : !lithe_k.buf<8xf32> -> %z : <?x8xf32>, <8x8xi8> -> <?x8xf32>
    return
  }
}
