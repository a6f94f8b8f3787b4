// RUN: lithe-opt %s --lithe-summarize -o /dev/null 2>&1 | FileCheck %s
// RUN: lithe-opt %s --lithe-summarize=attach=true | FileCheck %s --check-prefix=ATTR

// CHECK: layers: 2
// CHECK-NEXT: heads: 4 4
// CHECK-NEXT: head_dim: 16 16
// CHECK-NEXT: width: 64
// CHECK-NEXT: vocab: 512
// CHECK-NEXT: tied_head: yes
// CHECK-NEXT: layer_norms: 1
// CHECK-NEXT: kv_shared_layers: 1
// CHECK-NEXT: weight_tensors: 3
// CHECK-NEXT: parameters: 40960
// CHECK-NEXT: weight_bytes: 163840
// CHECK-NEXT: kv_bytes_per_position: 512

// ATTR: module attributes {lithe.summary = {heads = array<i64: 4, 4>, kv_bytes_per_position = 512 : i64, layers = 2 : i64, parameters = 40960 : i64, tied_head = true, vocab = 512 : i64, weight_bytes = 163840 : i64, width = 64 : i64}, lithe.weights = "tiny.lwt"}

module attributes {lithe.weights = "tiny.lwt"} {
  func.func @forward(%ids: tensor<1x?xi64>, %past: index, %c0: !lithe.kv_cache<4x16xf32>) -> tensor<1x?x512xf32> {
    %wte = lithe.weight "wte" : tensor<512x64xf32>
    %wpe = lithe.weight "wpe" : tensor<64x64xf32>
    %tok = lithe.embedding %wte[%ids] : tensor<512x64xf32>, tensor<1x?xi64> -> tensor<1x?x64xf32>
    %pos_ids = lithe.position_ids %ids, %past : tensor<1x?xi64> -> tensor<1x?xi64>
    %pos = lithe.embedding %wpe[%pos_ids] : tensor<64x64xf32>, tensor<1x?xi64> -> tensor<1x?x64xf32>
    %h0 = lithe.add %tok, %pos : tensor<1x?x64xf32>
    %ln = lithe.layer_norm %h0 eps 1.0e-05 : (tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    %wq = lithe.weight "q.weight" : tensor<64x64xf32>
    %q = lithe.linear %ln, %wq : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    // The second layer shares the first one's cache.
    %a0 = lithe.attention %q, %q, %q cache %c0[%past] heads 4 head_dim 16 scale 0.25 causal : (tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x?x64xf32>
    %a1 = lithe.attention %a0 cache %c0[%past] heads 4 head_dim 16 scale 0.25 causal : (tensor<1x?x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x?x64xf32>
    %logits = lithe.lm_head %a1, %wte : (tensor<1x?x64xf32>, tensor<512x64xf32>) -> tensor<1x?x512xf32>
    return %logits : tensor<1x?x512xf32>
  }
}
