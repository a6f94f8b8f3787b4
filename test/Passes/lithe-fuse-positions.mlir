// lithe-fuse-positions: token embedding + position rows + their add become
// one lithe_k.embed_positions (the CUDA target's, where the past length is
// on the device); an embedding whose result is read elsewhere is left alone.
// RUN: lithe-opt %s --lithe-fuse-positions --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @fused
// CHECK-SAME: (%[[W:.*]]: !lithe_k.weights, %[[A:.*]]: !lithe_k.arena, %[[IDS:.*]]: !lithe_k.buf<?xi64>, %[[ROWS:.*]]: index, %[[PAST:.*]]: index)
// CHECK: %[[WTE:.*]] = lithe_k.weight %[[W]]["wte"]
// CHECK: %[[WPE:.*]] = lithe_k.weight %[[W]]["wpe"]
// CHECK: %[[X:.*]] = lithe_k.arena %[[A]] : <?x8xf32>
// CHECK: lithe_k.embed_positions %[[WTE]][%[[IDS]]] positions %[[WPE]][%[[PAST]]] rows %[[ROWS]] -> %[[X]] : <16x8xf32>, <?xi64>, <8x8xf32> -> <?x8xf32>
// CHECK-NOT: lithe_k.embedding
// CHECK-NOT: lithe_k.table_rows
// CHECK-NOT: lithe_k.add
// CHECK: lithe_k.layer_norm %[[X]]
func.func @fused(%w: !lithe_k.weights, %a: !lithe_k.arena, %ids: !lithe_k.buf<?xi64>, %rows: index, %past: index) {
  %wte = lithe_k.weight %w["wte"] : <16x8xf32>
  %e = lithe_k.arena %a : <?x8xf32>
  lithe_k.embedding %wte[%ids] rows %rows -> %e : <16x8xf32>, <?xi64> -> <?x8xf32>
  %wpe = lithe_k.weight %w["wpe"] : <8x8xf32>
  %p = lithe_k.table_rows %wpe[%past] : <8x8xf32> -> <?x8xf32>
  %x = lithe_k.arena %a : <?x8xf32>
  lithe_k.add %e, %p rows %rows -> %x : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  %y = lithe_k.arena %a : <?x8xf32>
  lithe_k.layer_norm %x rows %rows eps 1.0e-05 -> %y : <?x8xf32> -> <?x8xf32>
  return
}

// -----

// The token embeddings are read again after the add: not fused.
// CHECK-LABEL: func.func @reused
// CHECK: lithe_k.embedding
// CHECK: lithe_k.table_rows
// CHECK: lithe_k.add
// CHECK-NOT: lithe_k.embed_positions
func.func @reused(%w: !lithe_k.weights, %a: !lithe_k.arena, %ids: !lithe_k.buf<?xi64>, %rows: index, %past: index) {
  %wte = lithe_k.weight %w["wte"] : <16x8xf32>
  %e = lithe_k.arena %a : <?x8xf32>
  lithe_k.embedding %wte[%ids] rows %rows -> %e : <16x8xf32>, <?xi64> -> <?x8xf32>
  %wpe = lithe_k.weight %w["wpe"] : <8x8xf32>
  %p = lithe_k.table_rows %wpe[%past] : <8x8xf32> -> <?x8xf32>
  %x = lithe_k.arena %a : <?x8xf32>
  lithe_k.add %e, %p rows %rows -> %x : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  %y = lithe_k.arena %a : <?x8xf32>
  lithe_k.add %x, %e rows %rows -> %y : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  return
}
