// RUN: rm -rf %t && mkdir -p %t
// RUN: lithe-weights create %t/in.lwt g:f32:4:1000000 b:f32:4:0.5
// RUN: cd %t && lithe-opt %s --lithe-remove-layernorm --canonicalize --lithe-write-weights=file=%t/out.lwt | FileCheck %s
// RUN: lithe-weights list %t/out.lwt | FileCheck %s --check-prefix=WEIGHTS

// The disabled LayerNorm (eps 1e12) becomes a centering scaled by g/sqrt(eps);
// the ordinary one (eps 1e-5) stays.
// CHECK: %[[S:.*]] = lithe.weight "g.noln" : tensor<4xf32>
// CHECK: %[[C:.*]] = lithe.center %arg0 scale %[[S]] bias %{{.*}} : (tensor<1x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
// CHECK: lithe.layer_norm %[[C]] scale %{{.*}} bias %{{.*}} eps 9.99999974E-6
// WEIGHTS-DAG: g.noln f32 4 16
// WEIGHTS-DAG: g f32 4 16
// WEIGHTS-DAG: b f32 4 16

module attributes {lithe.weights = "in.lwt"} {
  func.func @f(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
    %g = lithe.weight "g" : tensor<4xf32>
    %b = lithe.weight "b" : tensor<4xf32>
    %y = lithe.layer_norm %x scale %g bias %b eps 1.0e12 : (tensor<1x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %z = lithe.layer_norm %y scale %g bias %b eps 1.0e-05 : (tensor<1x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    return %z : tensor<1x?x4xf32>
  }
}
