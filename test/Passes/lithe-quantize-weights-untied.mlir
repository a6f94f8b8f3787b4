// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/in.lwt wte:f32:5x4:iota head:f32:5x4:iota
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights --canonicalize --lithe-write-weights=file=%t/out.lwt | FileCheck %s
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=WEIGHTS
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights=lm-head=false --canonicalize | FileCheck %s --check-prefix=NOHEAD

// A token embedding whose table the head does not share (an untied model,
// or the original table after lithe-fold-layernorm gave the head a scaled
// copy) gathers from an int8 copy of its own table, one scale per row, so no
// f32 token table is stored; both embeddings of it read the one copy.
// CHECK: %[[E:.*]] = lithe.weight "wte.q8" : tensor<5x4xi8>
// CHECK: %[[ES:.*]] = lithe.weight "wte.q8scale" : tensor<5xf32>
// CHECK: lithe.embedding %[[E]][%{{.*}}] table_scale %[[ES]] : tensor<5xf32> : tensor<5x4xi8>
// CHECK: lithe.embedding %{{.*}}[%{{.*}}] table_scale %{{.*}} : tensor<5xf32> : tensor<5x4xi8>
// CHECK: %[[H:.*]] = lithe.weight "head.q8" : tensor<5x4xi8>
// CHECK: lithe.lm_head %{{.*}}, %[[H]] table_scale
// CHECK-NOT: "wte" :

// WEIGHTS-DAG: wte.q8 i8 5x4 20
// WEIGHTS-DAG: wte.q8scale f32 5 20
// WEIGHTS-DAG: head.q8 i8 5x4 20
// WEIGHTS-NOT: wte f32

// Without a quantized head the embedding keeps its f32 table too.
// NOHEAD: lithe.embedding %{{.*}}[%{{.*}}] : tensor<5x4xf32>

module attributes {lithe.weights = "in.lwt"} {
  func.func @forward(%ids: tensor<1x?xi64>, %more: tensor<1x?xi64>) -> (tensor<1x?x4xf32>, tensor<1x?x5xf32>) {
    %wte = lithe.weight "wte" : tensor<5x4xf32>
    %head = lithe.weight "head" : tensor<5x4xf32>
    %x = lithe.embedding %wte[%ids] : tensor<5x4xf32>, tensor<1x?xi64> -> tensor<1x?x4xf32>
    %y = lithe.embedding %wte[%more] : tensor<5x4xf32>, tensor<1x?xi64> -> tensor<1x?x4xf32>
    %s = lithe.add %x, %y : tensor<1x?x4xf32>
    %l = lithe.lm_head %s, %head : (tensor<1x?x4xf32>, tensor<5x4xf32>) -> tensor<1x?x5xf32>
    return %s, %l : tensor<1x?x4xf32>, tensor<1x?x5xf32>
  }
}
