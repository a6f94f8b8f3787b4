// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/in.lwt w:f32:4x3:iota c:f32:3:1 wte:f32:5x4:iota
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights --canonicalize --lithe-write-weights=file=%t/out.lwt | FileCheck %s
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=WEIGHTS
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights=lm-head=false --canonicalize | FileCheck %s --check-prefix=NOHEAD

// Linear weights become int8 with one scale per output column; the (tied)
// head gets an int8 copy with one scale per row, which the embedding then
// reads too (dequantizing its rows): the f32 table is not written.
// CHECK: %[[ETQ:.*]] = lithe.weight "wte.q8" : tensor<5x4xi8>
// CHECK: %[[ETS:.*]] = lithe.weight "wte.q8scale" : tensor<5xf32>
// CHECK: lithe.embedding %[[ETQ]][%{{.*}}] table_scale %[[ETS]] : tensor<5xf32> : tensor<5x4xi8>, tensor<1x?xi64> -> tensor<1x?x4xf32>
// CHECK: %[[Q:.*]] = lithe.weight "w.q8" : tensor<4x3xi8>
// CHECK: %[[S:.*]] = lithe.weight "w.q8scale" : tensor<3xf32>
// CHECK: lithe.linear %{{.*}}, %[[Q]] bias %{{.*}} weight_scale %[[S]] : (tensor<1x?x4xf32>, tensor<4x3xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x?x3xf32>
// CHECK: %[[TQ:.*]] = lithe.weight "wte.q8" : tensor<5x4xi8>
// CHECK: %[[TS:.*]] = lithe.weight "wte.q8scale" : tensor<5xf32>
// CHECK: lithe.lm_head %{{.*}}, %[[TQ]] table_scale %[[TS]]
// CHECK-NOT: "wte" :

// WEIGHTS-DAG: w.q8 i8 4x3 12
// WEIGHTS-DAG: w.q8scale f32 3 12
// WEIGHTS-DAG: wte.q8 i8 5x4 20
// WEIGHTS-DAG: wte.q8scale f32 5 20
// WEIGHTS-NOT: wte f32

// embedding=false: the embedding keeps the f32 table.
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights=embedding=false --canonicalize | FileCheck %s --check-prefix=F32EMB
// F32EMB: %[[WTE:.*]] = lithe.weight "wte" : tensor<5x4xf32>
// F32EMB: lithe.embedding %[[WTE]][%{{.*}}] : tensor<5x4xf32>
// F32EMB: lithe.lm_head %{{.*}}, %{{.*}} table_scale

// NOHEAD: lithe.linear {{.*}} weight_scale
// NOHEAD: lithe.lm_head %{{.*}}, %{{.*}} : (tensor<1x?x4xf32>, tensor<5x4xf32>) -> tensor<1x?x5xf32>

module attributes {lithe.weights = "in.lwt"} {
  func.func @forward(%ids: tensor<1x?xi64>) -> (tensor<1x?x3xf32>, tensor<1x?x5xf32>) {
    %wte = lithe.weight "wte" : tensor<5x4xf32>
    %w = lithe.weight "w" : tensor<4x3xf32>
    %c = lithe.weight "c" : tensor<3xf32>
    %x = lithe.embedding %wte[%ids] : tensor<5x4xf32>, tensor<1x?xi64> -> tensor<1x?x4xf32>
    %y = lithe.linear %x, %w bias %c : (tensor<1x?x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<1x?x3xf32>
    %l = lithe.lm_head %x, %wte : (tensor<1x?x4xf32>, tensor<5x4xf32>) -> tensor<1x?x5xf32>
    return %y, %l : tensor<1x?x3xf32>, tensor<1x?x5xf32>
  }
}
