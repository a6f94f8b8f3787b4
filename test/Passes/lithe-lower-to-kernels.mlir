// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-lower-to-kernels | FileCheck %s
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-lower-to-kernels --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: lithe-opt %S/Inputs/one-block.mlir --lithe-lower-to-kernels=capacity=4 | FileCheck %s --check-prefix=CAP
// RUN: not lithe-opt %s --lithe-lower-to-kernels 2>&1 | FileCheck %s --check-prefix=ERR

// One kernel op per transformer op, each writing a fresh (unplanned) arena
// slot; the position embedding is a view of its table at row `past`; the
// final LayerNorm writes the caller's hidden buffer; the KV append's status
// is what @forward returns; the LM head is @head. Locations (ONNX node
// names) travel with the ops.
// CHECK: module attributes {lithe.weights = "one-block.lwt", lithe_k.cache_shapes = array<i64: 2, 4>, lithe_k.capacity = 8 : i64, lithe_k.layers = 1 : i64}
// CHECK: func.func @forward(%[[W:[a-z0-9_]+]]: !lithe_k.weights, %[[ARENA:[a-z0-9_]+]]: !lithe_k.arena, %[[KS:[a-z0-9_]+]]: !lithe_k.caches, %[[VS:[a-z0-9_]+]]: !lithe_k.caches, %[[IDS:[a-z0-9_]+]]: !lithe_k.buf<?xi64>, %[[ROWS:[a-z0-9_]+]]: index, %[[PAST:[a-z0-9_]+]]: index, %[[HIDDEN:[a-z0-9_]+]]: !lithe_k.buf<?x8xf32>) -> i32
// CHECK: %[[ZERO:[a-z0-9_]+]] = arith.constant 0 : i32
// CHECK: %[[KP:[a-z0-9_]+]] = lithe_k.cache_plane %[[KS]][0] : !lithe_k.caches -> <2x8x4xf32>
// CHECK: %[[VP:[a-z0-9_]+]] = lithe_k.cache_plane %[[VS]][0] : !lithe_k.caches -> <2x8x4xf32>
// CHECK: %[[TOK:[a-z0-9_]+]] = lithe_k.arena %[[ARENA]] : <?x8xf32>
// CHECK: %[[WTE:[a-z0-9_]+]] = lithe_k.weight %[[W]]["wte"] : <16x8xf32>
// CHECK: lithe_k.embedding %[[WTE]][%[[IDS]]] rows %[[ROWS]] -> %[[TOK]]
// CHECK: %[[WPE:[a-z0-9_]+]] = lithe_k.weight %[[W]]["wpe"] : <8x8xf32>
// CHECK: %[[POS:[a-z0-9_]+]] = lithe_k.table_rows %[[WPE]][%[[PAST]]] : <8x8xf32> -> <?x8xf32>
// CHECK: %[[X0:[a-z0-9_]+]] = lithe_k.arena %[[ARENA]] : <?x8xf32>
// CHECK: lithe_k.add %[[TOK]], %[[POS]] rows %[[ROWS]] -> %[[X0]]
// CHECK: lithe_k.layer_norm %[[X0]] rows %[[ROWS]] scale {{.*}} bias {{.*}} eps 9.99999974E-6
// CHECK-COUNT-3: lithe_k.linear {{.*}} : <?x8xf32>, <8x8xf32> -> <?x8xf32>
// CHECK: %[[S:[a-z0-9_]+]] = lithe_k.kv_append %{{.*}}, %{{.*}} rows %[[ROWS]] -> %[[KP]], %[[VP]][%[[PAST]]] : <?x8xf32> -> <2x8x4xf32>
// CHECK: %[[STATUS:[a-z0-9_]+]] = arith.ori %[[ZERO]], %[[S]] : i32
// CHECK: lithe_k.attention %{{.*}} rows %[[ROWS]], %[[KP]], %[[VP]][%[[PAST]]] scale 5.000000e-01 causal -> %{{.*}}
// CHECK: lithe_k.linear {{.*}} bias {{.*}} -> %{{.*}} :
// CHECK: lithe_k.add %[[X0]], %{{.*}} rows
// CHECK: lithe_k.linear {{.*}} : <?x8xf32>, <8x16xf32> -> <?x16xf32>
// CHECK: lithe_k.gelu %{{.*}} rows %[[ROWS]] tanh -> %{{.*}} : <?x16xf32> -> <?x16xf32>
// CHECK: lithe_k.linear
// CHECK: lithe_k.add
// CHECK: lithe_k.layer_norm {{.*}} -> %[[HIDDEN]]
// CHECK: return %[[STATUS]] : i32
// Batched decode: one token of each of `rows` sequences, each at its own
// position (a gather of the position table by `pasts`) on its own caches.
// CHECK: func.func @decode_batch(%[[BW:[a-z0-9_]+]]: !lithe_k.weights, %{{[a-z0-9_]+}}: !lithe_k.arena, %[[BKS:[a-z0-9_]+]]: !lithe_k.caches, %[[BVS:[a-z0-9_]+]]: !lithe_k.caches, %[[BIDS:[a-z0-9_]+]]: !lithe_k.buf<?xi64>, %[[BROWS:[a-z0-9_]+]]: index, %[[PASTS:[a-z0-9_]+]]: !lithe_k.buf<?xi64>, %{{[a-z0-9_]+}}: !lithe_k.buf<?x8xf32>) -> i32
// CHECK: lithe_k.embedding %{{.*}}[%[[BIDS]]] rows %[[BROWS]]
// CHECK: lithe_k.embedding %{{.*}}[%[[PASTS]]] rows %[[BROWS]]
// CHECK: lithe_k.kv_append_rows %{{.*}}, %{{.*}} rows %[[BROWS]] -> %[[BKS]], %[[BVS]][%[[PASTS]]] {cache = 0 : i64, caches = 1 : i64, capacity = 8 : i64, head_dim = 4 : i64, heads = 2 : i64}
// CHECK: lithe_k.attention_rows %{{.*}} rows %[[BROWS]], %[[BKS]], %[[BVS]][%[[PASTS]]] scale 5.000000e-01
// CHECK: func.func @head(%[[HW:[a-z0-9_]+]]: !lithe_k.weights, %[[H:[a-z0-9_]+]]: !lithe_k.buf<?x8xf32>, %[[HR:[a-z0-9_]+]]: index, %[[LOGITS:[a-z0-9_]+]]: !lithe_k.buf<?x16xf32>)
// CHECK: %[[T:[a-z0-9_]+]] = lithe_k.weight %[[HW]]["wte"] : <16x8xf32>
// CHECK: lithe_k.lm_head %[[H]] rows %[[HR]], %[[T]] -> %[[LOGITS]] : <?x8xf32>, <16x8xf32> -> <?x16xf32>
// CHECK-NOT: lithe.

// LOC: lithe_k.embedding {{.*}} loc(#[[GATHER:loc[0-9]*]])
// LOC: lithe_k.linear {{.*}} bias {{.*}} loc(#[[PROJ:loc[0-9]*]])
// LOC-DAG: #[[GATHER]] = loc("wte_gather")
// LOC-DAG: #[[PROJ]] = loc("attn_proj")

// CAP: lithe_k.capacity = 4 : i64
// CAP: lithe_k.cache_plane %{{.*}}[0] : !lithe_k.caches -> <2x4x4xf32>

// An op no kernel computes is named, with its ONNX node.
// ERR: error: cannot compile ONNX Softmax node 'sm': not a transformer-level op (it was not raised)
module attributes {lithe.weights = "x.lwt"} {
  func.func @forward(%ids: tensor<?x?xi64>, %past: index) -> tensor<?x?x16xf32> {
    %wte = lithe.weight "wte" : tensor<16x8xf32>
    %x = lithe.embedding %wte[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
    %s = lithe.onnx "Softmax"(%x) {opset = 17 : i64, node_name = "sm"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %l = lithe.lm_head %s, %wte : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
    return %l : tensor<?x?x16xf32>
  }
}
