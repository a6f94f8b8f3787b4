// RUN: lithe-opt %s | lithe-opt | FileCheck %s
// Every lithe_k op prints and parses back.

// CHECK-LABEL: func.func @all
// CHECK: lithe_k.cache_plane %{{.*}}[1] : !lithe_k.caches -> <2x8x4xf32>
// CHECK: lithe_k.arena %{{.*}}[128] : <?x8xf32>
// CHECK: lithe_k.arena %{{.*}} : <?x16xf32>
// CHECK: lithe_k.weight %{{.*}}["t"] : <16x8xf32>
// CHECK: lithe_k.weight %{{.*}}["w.packed"] cpu_panels : <8x16xf32>
// CHECK: lithe_k.weight %{{.*}}["q"] : <8x8xi8>
// CHECK: lithe_k.embedding %{{.*}}[%{{.*}}] rows %{{.*}} -> %{{.*}} : <16x8xf32>, <?xi64> -> <?x8xf32>
// CHECK: lithe_k.table_rows %{{.*}}[%{{.*}}] : <16x8xf32> -> <?x8xf32>
// CHECK: lithe_k.add
// CHECK: lithe_k.layer_norm %{{.*}} rows %{{.*}} scale %{{.*}} : !lithe_k.buf<8xf32> eps 9.99999974E-6 -> %{{.*}}
// CHECK: lithe_k.center
// CHECK: lithe_k.affine_rows %{{.*}} rows %{{.*}} bias %{{.*}} : !lithe_k.buf<8xf32> : <?x8xf32>
// CHECK: lithe_k.linear %{{.*}} rows %{{.*}}, %{{.*}} epilogue gelu_erf -> %{{.*}} : <?x8xf32>, <8x16xf32> -> <?x16xf32>
// CHECK: lithe_k.linear %{{.*}} rows %{{.*}}, %{{.*}} weight_scale %{{.*}} : !lithe_k.buf<8xf32> epilogue accumulate -> %{{.*}}
// CHECK: lithe_k.gelu %{{.*}} rows %{{.*}} tanh -> %{{.*}}
// CHECK: lithe_k.kv_append %{{.*}}, %{{.*}} rows %{{.*}} -> %{{.*}}, %{{.*}}[%{{.*}}] : <?x8xf32> -> <2x8x4xf32>
// CHECK: lithe_k.attention %{{.*}} rows %{{.*}}, %{{.*}}, %{{.*}}[%{{.*}}] scale 5.000000e-01 causal -> %{{.*}}
// CHECK: lithe_k.lm_head %{{.*}} rows %{{.*}}, %{{.*}} table_scale %{{.*}} : !lithe_k.buf<16xf32> -> %{{.*}} : <?x8xf32>, <16x8xi8> -> <?x16xf32>
// CHECK: lithe_k.add_rows
func.func @all(%w: !lithe_k.weights, %arena: !lithe_k.arena, %ks: !lithe_k.caches, %ids: !lithe_k.buf<?xi64>,
               %rows: index, %past: index, %logits: !lithe_k.buf<?x16xf32>) -> i32 {
  %kp = lithe_k.cache_plane %ks[1] : !lithe_k.caches -> <2x8x4xf32>
  %x = lithe_k.arena %arena[128] : <?x8xf32>
  %h = lithe_k.arena %arena : <?x16xf32>
  %t = lithe_k.weight %w["t"] : <16x8xf32>
  %wp = lithe_k.weight %w["w.packed"] cpu_panels : <8x16xf32>
  %q = lithe_k.weight %w["q"] : <8x8xi8>
  %s = lithe_k.weight %w["s"] : <8xf32>
  %t8 = lithe_k.weight %w["t8"] : <16x8xi8>
  %t8s = lithe_k.weight %w["t8s"] : <16xf32>
  lithe_k.embedding %t[%ids] rows %rows -> %x : <16x8xf32>, <?xi64> -> <?x8xf32>
  %pos = lithe_k.table_rows %t[%past] : <16x8xf32> -> <?x8xf32>
  lithe_k.add %x, %pos rows %rows -> %x : <?x8xf32>, <?x8xf32> -> <?x8xf32>
  lithe_k.layer_norm %x rows %rows scale %s : !lithe_k.buf<8xf32> eps 1.0e-05 -> %x : <?x8xf32> -> <?x8xf32>
  lithe_k.center %x rows %rows -> %x : <?x8xf32> -> <?x8xf32>
  lithe_k.affine_rows %x rows %rows bias %s : !lithe_k.buf<8xf32> : <?x8xf32>
  lithe_k.linear %x rows %rows, %wp epilogue gelu_erf -> %h : <?x8xf32>, <8x16xf32> -> <?x16xf32>
  lithe_k.linear %x rows %rows, %q weight_scale %s : !lithe_k.buf<8xf32> epilogue accumulate -> %x : <?x8xf32>, <8x8xi8> -> <?x8xf32>
  lithe_k.gelu %h rows %rows tanh -> %h : <?x16xf32> -> <?x16xf32>
  %st = lithe_k.kv_append %x, %x rows %rows -> %kp, %kp[%past] : <?x8xf32> -> <2x8x4xf32>
  lithe_k.attention %x rows %rows, %kp, %kp[%past] scale 5.000000e-01 causal -> %x : <?x8xf32>, <2x8x4xf32> -> <?x8xf32>
  lithe_k.lm_head %x rows %rows, %t8 table_scale %t8s : !lithe_k.buf<16xf32> -> %logits : <?x8xf32>, <16x8xi8> -> <?x16xf32>
  lithe_k.add_rows %logits rows %rows, %t8s : <?x16xf32>, <16xf32>
  return %st : i32
}
