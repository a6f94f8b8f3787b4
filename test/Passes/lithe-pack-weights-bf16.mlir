// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/w.lwt w:f32:7x40:iota q:i8:8x8:1 qs:f32:8:0.5 b:f32:40:1 t:f32:50x8:iota
// RUN: cd %t && lithe-opt %s --lithe-pack-weights=precision=bf16 --lithe-write-weights=file=%t/packed.lwt | FileCheck %s
// RUN: lithe-weights list %t/packed.lwt | FileCheck %s --check-prefix=FILE
// RUN: cd %t && not lithe-opt %s --lithe-pack-weights=precision=fp16 2>&1 | FileCheck %s --check-prefix=PREC
// And through lithec: every linear, the LM head and the embedding of lithe-tiny.
// RUN: lithec %examples/gpt2/lithe-tiny/model.onnx --emit=kernel --precision=bf16 | FileCheck %s --check-prefix=TINY
// RUN: not lithec %examples/gpt2/lithe-tiny/model.onnx --emit=kernel --precision=int4 2>&1 | FileCheck %s --check-prefix=BADFLAG
// RUN: not lithec %examples/gpt2/lithe-tiny/model.onnx --emit=lithe --precision=bf16 -o %t/x.mlir 2>&1 | FileCheck %s --check-prefix=STAGE

// f32 linear weights become bf16 panels with k in pairs: 7 rows -> 4 pairs,
// 40 columns -> 2 panels of 32, 4 x 64 x 2 bytes each (1024); the int8
// weight stays int8. The LM head's f32 table gets a row-major bf16 copy
// (50 x 8 x 2 bytes), which the embedding of the same table reads too, so
// the f32 table is no longer referenced.
// CHECK: %[[W:.*]] = lithe_k.weight %arg2["w.packed.bf16"] cpu_panels : <7x40xbf16>
// CHECK: lithe_k.linear %{{.*}} rows %arg1, %[[W]] bias
// CHECK: %[[Q:.*]] = lithe_k.weight %arg2["q.packed"] cpu_panels : <8x8xi8>
// CHECK: lithe_k.linear %{{.*}} rows %arg1, %[[Q]] -> 
// CHECK: %[[TE:.*]] = lithe_k.weight %arg2["t.bf16"] : <50x8xbf16>
// CHECK: lithe_k.embedding %[[TE]]
// CHECK: %[[TH:.*]] = lithe_k.weight %arg2["t.bf16"] : <50x8xbf16>
// CHECK: lithe_k.lm_head %{{.*}} rows %arg1, %[[TH]] -> 
// CHECK-NOT: ["t"]
// FILE-DAG: w.packed.bf16 i8 1024 1024
// FILE-DAG: q.packed i8 512 512
// FILE-DAG: t.bf16 i8 800 800
// FILE-NOT: {{^t f32}}
// PREC: error: lithe-pack-weights: unknown precision 'fp16' (known: fp32, bf16)
// TINY-COUNT-24: lithe_k.linear {{.*}}xbf16> -> <?x
// TINY: lithe_k.lm_head {{.*}} <50257x{{[0-9]+}}xbf16> -> 
// BADFLAG: lithec: error: --precision: unknown 'int4' (known: fp32, bf16)
// STAGE: lithec: error: --precision applies to compiled stages (--emit=kernel|llvm|obj|exe)
module attributes {lithe.weights = "w.lwt"} {
  func.func @forward(%arena: !lithe_k.arena, %rows: index, %w: !lithe_k.weights, %ids: !lithe_k.buf<?xi64>) {
    %x = lithe_k.arena %arena : <?x7xf32>
    %y = lithe_k.arena %arena : <?x40xf32>
    %x8 = lithe_k.arena %arena : <?x8xf32>
    %z = lithe_k.arena %arena : <?x8xf32>
    %l = lithe_k.arena %arena : <?x50xf32>
    %wf = lithe_k.weight %w["w"] : <7x40xf32>
    %b = lithe_k.weight %w["b"] : <40xf32>
    lithe_k.linear %x rows %rows, %wf bias %b : !lithe_k.buf<40xf32> -> %y : <?x7xf32>, <7x40xf32> -> <?x40xf32>
    %q = lithe_k.weight %w["q"] : <8x8xi8>
    %qs = lithe_k.weight %w["qs"] : <8xf32>
    lithe_k.linear %x8 rows %rows, %q weight_scale %qs : !lithe_k.buf<8xf32> -> %z : <?x8xf32>, <8x8xi8> -> <?x8xf32>
    %t = lithe_k.weight %w["t"] : <50x8xf32>
    lithe_k.embedding %t [%ids] rows %rows -> %x8 : !lithe_k.buf<50x8xf32>, !lithe_k.buf<?xi64> -> !lithe_k.buf<?x8xf32>
    lithe_k.lm_head %z rows %rows, %t -> %l : <?x8xf32>, <50x8xf32> -> <?x50xf32>
    return
  }
}
