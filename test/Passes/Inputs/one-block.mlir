// A one-block GPT-2 at the transformer level (width 8, 2 heads of 4, MLP 16,
// vocabulary 16, context 8): the input of the lowering tests.
module attributes {lithe.weights = "one-block.lwt"} {
  func.func @forward(%ids: tensor<?x?xi64>, %past: index, %cache: !lithe.kv_cache<2x4xf32>) -> tensor<?x?x16xf32> {
    %wte = lithe.weight "wte" : tensor<16x8xf32>
    %wpe = lithe.weight "wpe" : tensor<8x8xf32>
    %g1 = lithe.weight "ln1.g" : tensor<8xf32>
    %b1 = lithe.weight "ln1.b" : tensor<8xf32>
    %wq = lithe.weight "q.w" : tensor<8x8xf32>
    %wk = lithe.weight "k.w" : tensor<8x8xf32>
    %wv = lithe.weight "v.w" : tensor<8x8xf32>
    %wo = lithe.weight "o.w" : tensor<8x8xf32>
    %bo = lithe.weight "o.b" : tensor<8xf32>
    %g2 = lithe.weight "ln2.g" : tensor<8xf32>
    %b2 = lithe.weight "ln2.b" : tensor<8xf32>
    %wfc = lithe.weight "fc.w" : tensor<8x16xf32>
    %bfc = lithe.weight "fc.b" : tensor<16xf32>
    %wpr = lithe.weight "proj.w" : tensor<16x8xf32>
    %gf = lithe.weight "lnf.g" : tensor<8xf32>
    %bf = lithe.weight "lnf.b" : tensor<8xf32>
    %tok = lithe.embedding %wte[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32> loc("wte_gather")
    %pos_ids = lithe.position_ids %ids, %past : tensor<?x?xi64> -> tensor<?x?xi64>
    %pos = lithe.embedding %wpe[%pos_ids] : tensor<8x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
    %x0 = lithe.add %tok, %pos : tensor<?x?x8xf32>
    %h1 = lithe.layer_norm %x0 scale %g1 bias %b1 eps 1.0e-05 : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %q = lithe.linear %h1, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %k = lithe.linear %h1, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %v = lithe.linear %h1, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %a = lithe.attention %q, %k, %v cache %cache[%past] heads 2 head_dim 4 scale 0.5 causal : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, !lithe.kv_cache<2x4xf32>, index) -> tensor<?x?x8xf32>
    %o = lithe.linear %a, %wo bias %bo : (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("attn_proj")
    %x1 = lithe.add %x0, %o : tensor<?x?x8xf32>
    %h2 = lithe.layer_norm %x1 scale %g2 bias %b2 eps 1.0e-05 : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %f = lithe.linear %h2, %wfc bias %bfc : (tensor<?x?x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %gl = lithe.gelu %f tanh : tensor<?x?x16xf32>
    %p = lithe.linear %gl, %wpr : (tensor<?x?x16xf32>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
    %x2 = lithe.add %x1, %p : tensor<?x?x8xf32>
    %hf = lithe.layer_norm %x2 scale %gf bias %bf eps 1.0e-05 : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %logits = lithe.lm_head %hf, %wte : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
    return %logits : tensor<?x?x16xf32>
  }
}
