// RUN: lithe-opt %s --lithe-fuse-kernels | FileCheck %s

// GELU after a linear whose buffer nothing else reads: the linear's
// epilogue. A residual add whose residual is last read there: the linear
// accumulates into the residual; the freed slots disappear.
// CHECK-LABEL: func.func @mlp
// CHECK: %[[RES:.*]] = lithe_k.arena %arg0 : <?x8xf32>
// CHECK: %[[FC:.*]] = lithe_k.arena %arg0 : <?x16xf32>
// CHECK: lithe_k.linear %[[RES]] rows %arg1, %{{.*}} epilogue gelu_tanh -> %[[FC]]
// CHECK-NOT: lithe_k.gelu
// CHECK: lithe_k.linear %[[FC]] rows %arg1, %{{.*}} epilogue accumulate -> %[[RES]]
// CHECK-NOT: lithe_k.add
// CHECK-NOT: lithe_k.arena
// CHECK: lithe_k.layer_norm %[[RES]]
func.func @mlp(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights, %out: !lithe_k.buf<?x8xf32>) {
  %wfc = lithe_k.weight %w["fc.packed"] cpu_panels : <8x16xf32>
  %wpr = lithe_k.weight %w["proj.packed"] cpu_panels : <16x8xf32>
  %res = lithe_k.arena %arena : <?x8xf32>
  %fc = lithe_k.arena %arena : <?x16xf32>
  lithe_k.linear %res rows %rows, %wfc -> %fc : <?x8xf32>, <8x16xf32> -> <?x16xf32>
  %g = lithe_k.arena %arena : <?x16xf32>
  lithe_k.gelu %fc rows %rows tanh -> %g : <?x16xf32> -> <?x16xf32>
  %p = lithe_k.arena %arena : <?x8xf32>
  lithe_k.linear %g rows %rows, %wpr -> %p : <?x16xf32>, <16x8xf32> -> <?x8xf32>
  %sum = lithe_k.arena %arena : <?x8xf32>
  lithe_k.add %res, %p rows %rows -> %sum : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  lithe_k.layer_norm %sum rows %rows eps 1.0e-05 -> %out : <?x8xf32> -> <?x8xf32>
  return
}

// Not fused: the linear's result is read twice (GELU and add), the residual
// is read after the add, the sum goes to the caller's buffer.
// CHECK-LABEL: func.func @kept
// CHECK: lithe_k.linear {{.*}} -> %[[A:.*]] : <?x8xf32>, <8x8xf32> -> <?x8xf32>
// CHECK-NOT: epilogue
// CHECK: lithe_k.gelu %[[A]]
// CHECK: lithe_k.add %[[A]]
// CHECK: lithe_k.linear {{.*}} -> %[[B:.*]] : <?x8xf32>, <8x8xf32> -> <?x8xf32>
// CHECK: lithe_k.add %[[R:.*]], %[[B]]
// CHECK: lithe_k.layer_norm %[[R]]
// CHECK: lithe_k.linear {{.*}} -> %[[C:.*]] : <?x8xf32>, <8x8xf32> -> <?x8xf32>
// CHECK: lithe_k.add %{{.*}}, %[[C]] rows %arg1 -> %arg3
func.func @kept(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights, %out: !lithe_k.buf<?x8xf32>) {
  %wa = lithe_k.weight %w["a.packed"] cpu_panels : <8x8xf32>
  %r = lithe_k.arena %arena : <?x8xf32>
  %a = lithe_k.arena %arena : <?x8xf32>
  lithe_k.linear %r rows %rows, %wa -> %a : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  %g = lithe_k.arena %arena : <?x8xf32>
  lithe_k.gelu %a rows %rows -> %g : <?x8xf32> -> <?x8xf32>
  %s1 = lithe_k.arena %arena : <?x8xf32>
  lithe_k.add %a, %g rows %rows -> %s1 : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  %b = lithe_k.arena %arena : <?x8xf32>
  lithe_k.linear %s1 rows %rows, %wa -> %b : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  %s2 = lithe_k.arena %arena : <?x8xf32>
  lithe_k.add %r, %b rows %rows -> %s2 : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  %n = lithe_k.arena %arena : <?x8xf32>
  lithe_k.layer_norm %r rows %rows eps 1.0e-05 -> %n : <?x8xf32> -> <?x8xf32>
  %c = lithe_k.arena %arena : <?x8xf32>
  lithe_k.linear %n rows %rows, %wa -> %c : <?x8xf32>, <8x8xf32> -> <?x8xf32>
  lithe_k.add %s2, %c rows %rows -> %out : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  return
}
