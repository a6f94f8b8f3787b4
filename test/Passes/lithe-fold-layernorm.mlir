// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/in.lwt g:f32:4:2 b:f32:4:0.5 w:f32:4x3:iota c:f32:3:1 wte:f32:5x4:iota hb:f32:5:0
// RUN: cd %t && lithe-opt %s --lithe-fold-layernorm --canonicalize --lithe-write-weights=file=%t/out.lwt | FileCheck %s
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=WEIGHTS
// RUN: cd %t && lithe-opt %s --lithe-fold-layernorm=into-head=false --canonicalize | FileCheck %s --check-prefix=NOHEAD

// The affine part moves into the linear layers and the (tied) head, which
// gets its own scaled copy; the embedding keeps the original table.
// CHECK: module attributes {lithe.weights = "out.lwt"}
// CHECK: %[[WTE:.*]] = lithe.weight "wte" : tensor<5x4xf32>
// CHECK: lithe.embedding %[[WTE]]
// CHECK: %[[N:.*]] = lithe.layer_norm %{{.*}} eps 9.99999974E-6 : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
// CHECK: %[[W:.*]] = lithe.weight "w.lnfold" : tensor<4x3xf32>
// CHECK: %[[C:.*]] = lithe.weight "w.lnfold.bias" : tensor<3xf32>
// CHECK: lithe.linear %[[N]], %[[W]] bias %[[C]]
// CHECK: %[[N2:.*]] = lithe.layer_norm %{{.*}} eps 9.99999974E-6 : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
// CHECK: %[[T:.*]] = lithe.weight "wte.lnfold" : tensor<5x4xf32>
// CHECK: %[[TB:.*]] = lithe.weight "wte.lnfold.bias" : tensor<5xf32>
// CHECK: lithe.lm_head %[[N2]], %[[T]] bias %[[TB]]

// WEIGHTS-DAG: wte f32 5x4 80
// WEIGHTS-DAG: w.lnfold f32 4x3 48
// WEIGHTS-DAG: w.lnfold.bias f32 3 12
// WEIGHTS-DAG: wte.lnfold f32 5x4 80
// WEIGHTS-DAG: wte.lnfold.bias f32 5 20
// WEIGHTS: # 5 tensors

// NOHEAD: lithe.linear %{{.*}}, %{{.*}} bias
// NOHEAD: lithe.layer_norm %{{.*}} scale %{{.*}} bias %{{.*}} eps
// NOHEAD-NEXT: lithe.lm_head

module attributes {lithe.weights = "in.lwt"} {
  func.func @forward(%ids: tensor<1x?xi64>) -> (tensor<1x?x3xf32>, tensor<1x?x5xf32>) {
    %wte = lithe.weight "wte" : tensor<5x4xf32>
    %g = lithe.weight "g" : tensor<4xf32>
    %b = lithe.weight "b" : tensor<4xf32>
    %w = lithe.weight "w" : tensor<4x3xf32>
    %c = lithe.weight "c" : tensor<3xf32>
    %x = lithe.embedding %wte[%ids] : tensor<5x4xf32>, tensor<1x?xi64> -> tensor<1x?x4xf32>
    %n = lithe.layer_norm %x scale %g bias %b eps 1.0e-05 : (tensor<1x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %y = lithe.linear %n, %w bias %c : (tensor<1x?x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<1x?x3xf32>
    %n2 = lithe.layer_norm %x scale %g bias %b eps 1.0e-05 : (tensor<1x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %l = lithe.lm_head %n2, %wte : (tensor<1x?x4xf32>, tensor<5x4xf32>) -> tensor<1x?x5xf32>
    return %y, %l : tensor<1x?x3xf32>, tensor<1x?x5xf32>
  }
}
