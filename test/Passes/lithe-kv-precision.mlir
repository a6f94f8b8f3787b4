// lithe-kv-precision: the model's KV caches become f16 at the transformer
// level; the kernel level then holds f16 planes in an f16 caches table, and
// every attention kernel call is the _f16 variant (decode and batched
// decode alike); the descriptor says 2-byte cache values.
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-kv-precision | FileCheck %s
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-kv-precision --lithe-lower-to-kernels | FileCheck %s --check-prefix=KERNEL
// RUN: rm -rf %t && mkdir -p %t && cp %S/Inputs/one-block.mlir %t/m.mlir
// RUN: cd %t && lithe-weights create one-block.lwt wte:f32:16x8:iota wpe:f32:8x8:iota ln1.g:f32:8:1 ln1.b:f32:8:0 q.w:f32:8x8:iota k.w:f32:8x8:iota v.w:f32:8x8:iota o.w:f32:8x8:iota o.b:f32:8:0 ln2.g:f32:8:1 ln2.b:f32:8:0 fc.w:f32:8x16:iota fc.b:f32:16:0 proj.w:f32:16x8:iota lnf.g:f32:8:1 lnf.b:f32:8:0
// RUN: cd %t && lithe-opt m.mlir --lithe-kv-precision --lithe-lower-cpu > %t/llvm.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t/llvm.mlir
// RUN: FileCheck %s --check-prefix=NOF32 < %t/llvm.mlir
// f32 back again is the identity on an f32 model.
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-kv-precision=type=f16 --lithe-kv-precision=type=f32 | FileCheck %s --check-prefix=F32
// RUN: not lithe-opt %S/Inputs/one-block.mlir --lithe-kv-precision=type=int4 2>&1 | FileCheck %s --check-prefix=ERR
// int8: i8 planes (their scales beside them at run time), the _q8 kernels,
// one byte per value in the descriptor.
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-kv-precision=type=int8 --lithe-lower-to-kernels | FileCheck %s --check-prefix=KERNEL8
// RUN: cd %t && lithe-opt m.mlir --lithe-kv-precision=type=int8 --lithe-lower-cpu | FileCheck %s --check-prefix=LLVM8
// KERNEL8: lithe_k.cache_plane %{{.*}}[0] : !lithe_k.caches<i8> -> <2x8x4xi8>
// KERNEL8: lithe_k.attention_rows {{.*}} !lithe_k.caches<i8>
// LLVM8: llvm.call @lithe_kv_append_q8(
// LLVM8: llvm.call @lithe_attention_q8(
// LLVM8: llvm.call @lithe_kv_append_rows_q8(
// LLVM8: llvm.call @lithe_attention_rows_q8(
// LLVM8: @lithe_model_config(dense<[6, 16, 8, 1, 8, {{[0-9]+}}, 1, 16, 1, 0]> : tensor<10xi64>)

// CHECK: func.func @forward(%{{.*}}: tensor<{{.*}}>, %{{.*}}: index, %[[C:[a-z0-9_]+]]: !lithe.kv_cache<2x4xf16>)
// CHECK: lithe.attention {{.*}}%[[C]]

// KERNEL: func.func @forward(%{{[a-z0-9_]+}}: !lithe_k.weights, %{{[a-z0-9_]+}}: !lithe_k.arena, %[[KS:[a-z0-9_]+]]: !lithe_k.caches<f16>, %[[VS:[a-z0-9_]+]]: !lithe_k.caches<f16>,
// KERNEL: %[[KP:[a-z0-9_]+]] = lithe_k.cache_plane %[[KS]][0] : !lithe_k.caches<f16> -> <2x8x4xf16>
// KERNEL: lithe_k.kv_append %{{.*}}, %{{.*}} rows %{{.*}} -> %[[KP]], %{{.*}} : <?x8xf32> -> <2x8x4xf16>
// KERNEL: lithe_k.attention %{{.*}}, %[[KP]], {{.*}} : <?x8xf32>, <2x8x4xf16> -> <?x8xf32>
// KERNEL: func.func @decode_batch({{.*}}!lithe_k.caches<f16>, %{{[a-z0-9_]+}}: !lithe_k.caches<f16>,
// KERNEL: lithe_k.kv_append_rows {{.*}} : <?x8xf32>, <?xi64>, !lithe_k.caches<f16>
// KERNEL: lithe_k.attention_rows {{.*}} : <?x8xf32>, <?xi64>, !lithe_k.caches<f16> -> <?x8xf32>

// NOF32-NOT: llvm.call @lithe_kv_append(
// NOF32-NOT: llvm.call @lithe_attention(
// NOF32-NOT: llvm.call @lithe_kv_append_rows(
// NOF32-NOT: llvm.call @lithe_attention_rows(
// LLVM: llvm.call @lithe_kv_append_f16(
// LLVM: llvm.call @lithe_attention_f16(
// LLVM: llvm.call @lithe_kv_append_rows_f16(
// LLVM: llvm.call @lithe_attention_rows_f16(
// Bytes per cached value, then the target (0: cpu).
// LLVM: @lithe_model_config(dense<[6, 16, 8, 1, 8, {{[0-9]+}}, 1, 16, 2, 0]> : tensor<10xi64>)

// F32: !lithe.kv_cache<2x4xf32>
// F32-NOT: f16

// ERR: error: lithe-kv-precision: type must be f32, f16 or int8, got 'int4'
