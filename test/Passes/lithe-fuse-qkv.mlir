// lithe-fuse-qkv: consecutive linears reading one input (attention's Q, K
// and V) become one lithe_k.linear_split over their weights' columns side
// by side; a linear reading another input, or one whose output is read
// before the group ends, is left alone.
// RUN: rm -rf %t && mkdir -p %t && cp %s %t/m.mlir
// RUN: cd %t && lithe-weights create w.lwt q:f32:8x8:iota k:f32:8x4:iota v:f32:8x4:iota qb:f32:8:1 kb:f32:4:2 vb:f32:4:3 o:f32:8x8:iota
// RUN: cd %t && lithe-opt m.mlir --lithe-fuse-qkv | FileCheck %s
// RUN: cd %t && lithe-opt m.mlir --lithe-fuse-qkv '--lithe-write-weights=file=%t/out.lwt' -o /dev/null
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=FILE

// CHECK-LABEL: func.func @qkv
// CHECK-DAG: %[[B:.*]] = lithe_k.weight %{{.*}}["qb.split3"] : <16xf32>
// CHECK-DAG: %[[W:.*]] = lithe_k.weight %{{.*}}["q.split3"] : <8x16xf32>
// CHECK: lithe_k.linear_split %[[X:.*]] rows %{{.*}}, %[[W]] bias %[[B]] : !lithe_k.buf<16xf32> -> %[[Q:.*]], %[[K:.*]], %[[V:.*]] : <?x8xf32>, <8x16xf32> -> !lithe_k.buf<?x8xf32>, !lithe_k.buf<?x4xf32>, !lithe_k.buf<?x4xf32>
// CHECK-NOT: lithe_k.linear %[[X]]
// CHECK: lithe_k.linear %[[Q]]
// FILE-DAG: q.split3 f32 8x16
// FILE-DAG: qb.split3 f32 16
// FILE-NOT: {{^}}k f32
module attributes {lithe.weights = "w.lwt"} {
func.func @qkv(%w: !lithe_k.weights, %a: !lithe_k.arena, %x: !lithe_k.buf<?x8xf32>, %rows: index) {
  %q = lithe_k.arena %a : <?x8xf32>
  %qw = lithe_k.weight %w["q"] : <8x8xf32>
  %qb = lithe_k.weight %w["qb"] : <8xf32>
  lithe_k.linear %x rows %rows, %qw bias %qb : !lithe_k.buf<8xf32> -> %q : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  %k = lithe_k.arena %a : <?x4xf32>
  %kw = lithe_k.weight %w["k"] : <8x4xf32>
  %kb = lithe_k.weight %w["kb"] : <4xf32>
  lithe_k.linear %x rows %rows, %kw bias %kb : !lithe_k.buf<4xf32> -> %k : <?x8xf32>, <8x4xf32> -> <?x4xf32>
  %v = lithe_k.arena %a : <?x4xf32>
  %vw = lithe_k.weight %w["v"] : <8x4xf32>
  %vb = lithe_k.weight %w["vb"] : <4xf32>
  lithe_k.linear %x rows %rows, %vw bias %vb : !lithe_k.buf<4xf32> -> %v : <?x8xf32>, <8x4xf32> -> <?x4xf32>
  %o = lithe_k.arena %a : <?x8xf32>
  %ow = lithe_k.weight %w["o"] : <8x8xf32>
  lithe_k.linear %q rows %rows, %ow -> %o : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  return
}

// The second linear reads the first one's output: no group.
// CHECK-LABEL: func.func @chain
// CHECK-NOT: linear_split
// CHECK-COUNT-2: lithe_k.linear
func.func @chain(%w: !lithe_k.weights, %a: !lithe_k.arena, %x: !lithe_k.buf<?x8xf32>, %rows: index) {
  %q = lithe_k.arena %a : <?x8xf32>
  %qw = lithe_k.weight %w["q"] : <8x8xf32>
  lithe_k.linear %x rows %rows, %qw -> %q : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  %o = lithe_k.arena %a : <?x8xf32>
  %ow = lithe_k.weight %w["o"] : <8x8xf32>
  lithe_k.linear %q rows %rows, %ow -> %o : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  return
}

// An epilogue (here GELU) keeps a linear out of a group.
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: linear_split
func.func @epilogue(%w: !lithe_k.weights, %a: !lithe_k.arena, %x: !lithe_k.buf<?x8xf32>, %rows: index) {
  %q = lithe_k.arena %a : <?x8xf32>
  %qw = lithe_k.weight %w["q"] : <8x8xf32>
  lithe_k.linear %x rows %rows, %qw -> %q : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  %o = lithe_k.arena %a : <?x8xf32>
  %ow = lithe_k.weight %w["o"] : <8x8xf32>
  lithe_k.linear %x rows %rows, %ow epilogue gelu_tanh -> %o : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  return
}
}
