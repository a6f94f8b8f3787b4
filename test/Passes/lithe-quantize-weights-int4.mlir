// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/in.lwt w:f32:8x3:iota c:f32:3:1 wte:f32:5x8:iota
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights="bits=4 group=4" --canonicalize --lithe-write-weights=file=%t/out.lwt | FileCheck %s
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=WEIGHTS
// RUN: cd %t && not lithe-opt %s --lithe-quantize-weights="bits=4 group=16" 2>&1 | FileCheck %s --check-prefix=DIVIDE
// RUN: cd %t && not lithe-opt %s --lithe-quantize-weights="bits=4 group=6" 2>&1 | FileCheck %s --check-prefix=MULTIPLE
// RUN: cd %t && not lithe-opt %s --lithe-quantize-weights="bits=3" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: cd %t && lithe-opt %s --lithe-quantize-weights="bits=4 group=4 lm-head-bits=4" | FileCheck %s --check-prefix=HEAD4
// RUN: cd %t && not lithe-opt %s --lithe-quantize-weights="bits=4 group=4 method=awq" 2>&1 | FileCheck %s --check-prefix=AWQ
// RUN: cd %t && not lithe-opt %s --lithe-quantize-weights="bits=4 group=4 method=gptq" 2>&1 | FileCheck %s --check-prefix=METHOD

// bits=4: linear weights become i4 (stored one value per byte) with one
// scale per group of 4 inputs and output column ([8 / 4, 3]); the LM head
// stays int8 per row, and the tied embedding reads its int8 table.
// CHECK: %[[ETQ:.*]] = lithe.weight "wte.q8" : tensor<5x8xi8>
// CHECK: lithe.embedding %[[ETQ]][%{{.*}}] table_scale
// CHECK: %[[Q:.*]] = lithe.weight "w.q4" : tensor<8x3xi4>
// CHECK: %[[S:.*]] = lithe.weight "w.q4scale" : tensor<2x3xf32>
// CHECK: lithe.linear %{{.*}}, %[[Q]] bias %{{.*}} weight_scale %[[S]] : (tensor<1x?x8xf32>, tensor<8x3xi4>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<1x?x3xf32>
// CHECK: %[[TQ:.*]] = lithe.weight "wte.q8" : tensor<5x8xi8>
// CHECK: lithe.lm_head %{{.*}}, %[[TQ]] table_scale

// WEIGHTS-DAG: w.q4 i8 8x3 24
// WEIGHTS-DAG: w.q4scale f32 2x3 24
// WEIGHTS-DAG: wte.q8 i8 5x8 40
// WEIGHTS-NOT: wte f32

// With lm-head-bits=4 the head's copy of the table is int4 too, one scale
// per row and group of 4 columns; the tied embedding gathers from an int8
// copy (per row), not the f32 table.
// HEAD4: %[[ETQ:.*]] = lithe.weight "wte.q8" : tensor<5x8xi8>
// HEAD4: lithe.embedding %[[ETQ]][%{{.*}}] table_scale
// HEAD4-NOT: "wte" :
// HEAD4: %[[TQ:.*]] = lithe.weight "wte.q4" : tensor<5x8xi4>
// HEAD4: %[[TS:.*]] = lithe.weight "wte.q4scale" : tensor<5x2xf32>
// HEAD4: lithe.lm_head %{{.*}}, %[[TQ]] table_scale %[[TS]] : (tensor<1x?x8xf32>, tensor<5x8xi4>, tensor<5x2xf32>) -> tensor<1x?x5xf32>

// DIVIDE: error: lithe-quantize-weights: group 16 does not divide the 8 inputs of linear weight 'w'
// MULTIPLE: error: lithe-quantize-weights: group must be a positive multiple of 4, got 6
// BITS: error: lithe-quantize-weights: bits must be 8 or 4, got 3
// AWQ: error: lithe-quantize-weights: method=awq needs bits=4 and a calibration text (calibration=FILE)
// METHOD: error: lithe-quantize-weights: method must be rtn or awq, got 'gptq'

module attributes {lithe.weights = "in.lwt"} {
  func.func @forward(%ids: tensor<1x?xi64>) -> (tensor<1x?x3xf32>, tensor<1x?x5xf32>) {
    %wte = lithe.weight "wte" : tensor<5x8xf32>
    %w = lithe.weight "w" : tensor<8x3xf32>
    %c = lithe.weight "c" : tensor<3xf32>
    %x = lithe.embedding %wte[%ids] : tensor<5x8xf32>, tensor<1x?xi64> -> tensor<1x?x8xf32>
    %y = lithe.linear %x, %w bias %c : (tensor<1x?x8xf32>, tensor<8x3xf32>, tensor<3xf32>) -> tensor<1x?x3xf32>
    %l = lithe.lm_head %x, %wte : (tensor<1x?x8xf32>, tensor<5x8xf32>) -> tensor<1x?x5xf32>
    return %y, %l : tensor<1x?x3xf32>, tensor<1x?x5xf32>
  }
}
