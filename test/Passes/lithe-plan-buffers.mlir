// RUN: lithe-opt %s --lithe-plan-buffers | FileCheck %s
// RUN: echo 'module {}' | not lithe-opt --lithe-plan-buffers 2>&1 | FileCheck %s --check-prefix=ERR

// Slots of capacity (4) rows, 64-byte aligned; a slot is free after its
// last use; a new buffer takes the narrowest free slot wide enough.
// CHECK: module attributes {lithe_k.arena_bytes = 512 : i64, lithe_k.capacity = 4 : i64}
// a: [0, 128), live to the add.
// CHECK: lithe_k.arena %arg0[0] : <?x8xf32>
// b: a new slot: a is still live.
// CHECK: lithe_k.arena %arg0[128] : <?x8xf32>
// wide: 16 columns need their own slot (256 bytes): 512 in all.
// CHECK: lithe_k.arena %arg0[256] : <?x16xf32>
// c after a died: takes its slot (b is still read by c's own add).
// CHECK: lithe_k.arena %arg0[0] : <?x8xf32>
module attributes {lithe_k.capacity = 4 : i64} {
  func.func @forward(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights, %out: !lithe_k.buf<?x8xf32>) {
    %t = lithe_k.weight %w["t"] : <16x8xf32>
    %ids = lithe_k.weight %w["ids"] : <4xi64>
    %a = lithe_k.arena %arena : <?x8xf32>
    lithe_k.layer_norm %out rows %rows eps 1.0e-05 -> %a : <?x8xf32> -> <?x8xf32>
    %b = lithe_k.arena %arena : <?x8xf32>
    lithe_k.add %a, %a rows %rows -> %b : <?x8xf32>, <?x8xf32> -> <?x8xf32>
    %wide = lithe_k.arena %arena : <?x16xf32>
    lithe_k.gelu %wide rows %rows -> %wide : <?x16xf32> -> <?x16xf32>
    %c = lithe_k.arena %arena : <?x8xf32>
    lithe_k.add %b, %out rows %rows -> %c : <?x8xf32>, <?x8xf32> -> <?x8xf32>
    lithe_k.add %c, %c rows %rows -> %out : <?x8xf32>, <?x8xf32> -> <?x8xf32>
    return
  }
}

// ERR: error: lithe-plan-buffers: not a kernel-level module (no lithe_k.capacity): run lithe-lower-to-kernels first
