#!/usr/bin/env python3
"""Print a transformer-level lithe module of a GPT-2 shape (no weights data).

Used by tests that need a full-size model's IR, e.g. GPT-2 small:
    gen_gpt2_ir.py --layers 12 --heads 12 --width 768 --vocab 50257 --ctx 1024
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=2)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--width", type=int, default=64)
p.add_argument("--vocab", type=int, default=512)
p.add_argument("--ctx", type=int, default=64)
a = p.parse_args()

L, H, D, V, C = a.layers, a.heads, a.width, a.vocab, a.ctx
hd = D // H
act = f"tensor<1x?x{D}xf32>"
cache = f"!lithe.kv_cache<{H}x{hd}xf32>"
out = []
w = out.append
caches = ", ".join(f"%c{i}: {cache}" for i in range(L))
w('module attributes {lithe.weights = "gpt2.lwt"} {')
w(f"  func.func @forward(%ids: tensor<1x?xi64>, %past: index, {caches}) -> tensor<1x?x{V}xf32> {{")
w(f'    %wte = lithe.weight "transformer.wte.weight" : tensor<{V}x{D}xf32>')
w(f'    %wpe = lithe.weight "transformer.wpe.weight" : tensor<{C}x{D}xf32>')
w(f"    %tok = lithe.embedding %wte[%ids] : tensor<{V}x{D}xf32>, tensor<1x?xi64> -> {act}")
w("    %pids = lithe.position_ids %ids, %past : tensor<1x?xi64> -> tensor<1x?xi64>")
w(f"    %pos = lithe.embedding %wpe[%pids] : tensor<{C}x{D}xf32>, tensor<1x?xi64> -> {act}")
w(f"    %h0 = lithe.add %tok, %pos : {act}")


def weight(name, shape):
    return f'lithe.weight "{name}" : tensor<{"x".join(map(str, shape))}xf32>'


def ln(dst, src, prefix):
    w(f"    %{dst}_g = {weight(prefix + '.weight', [D])}")
    w(f"    %{dst}_b = {weight(prefix + '.bias', [D])}")
    w(f"    %{dst} = lithe.layer_norm %{src} scale %{dst}_g bias %{dst}_b eps 1.0e-05 : ({act}, tensor<{D}xf32>, tensor<{D}xf32>) -> {act}")


def linear(dst, src, prefix, n_in, n_out):
    w(f"    %{dst}_w = {weight(prefix + '.weight', [n_in, n_out])}")
    w(f"    %{dst}_b = {weight(prefix + '.bias', [n_out])}")
    w(f"    %{dst} = lithe.linear %{src}, %{dst}_w bias %{dst}_b : (tensor<1x?x{n_in}xf32>, tensor<{n_in}x{n_out}xf32>, tensor<{n_out}xf32>) -> tensor<1x?x{n_out}xf32>")


for i in range(L):
    p = f"transformer.h.{i}"
    x = f"h{i}"
    ln(f"l{i}_ln1", x, p + ".ln_1")
    for part in ("q", "k", "v"):
        linear(f"l{i}_{part}", f"l{i}_ln1", f"{p}.attn.{part}_proj", D, D)
    w(f"    %l{i}_att = lithe.attention %l{i}_q, %l{i}_k, %l{i}_v cache %c{i}[%past] heads {H} head_dim {hd} scale {hd ** -0.5:.6e} causal : ({act}, {act}, {act}, {cache}, index) -> {act}")
    linear(f"l{i}_proj", f"l{i}_att", p + ".attn.c_proj", D, D)
    w(f"    %l{i}_r1 = lithe.add %{x}, %l{i}_proj : {act}")
    ln(f"l{i}_ln2", f"l{i}_r1", p + ".ln_2")
    linear(f"l{i}_fc", f"l{i}_ln2", p + ".mlp.c_fc", D, 4 * D)
    w(f"    %l{i}_gelu = lithe.gelu %l{i}_fc tanh : tensor<1x?x{4 * D}xf32>")
    linear(f"l{i}_mproj", f"l{i}_gelu", p + ".mlp.c_proj", 4 * D, D)
    w(f"    %h{i + 1} = lithe.add %l{i}_r1, %l{i}_mproj : {act}")
ln("lnf", f"h{L}", "transformer.ln_f")
w(f"    %logits = lithe.lm_head %lnf, %wte : ({act}, tensor<{V}x{D}xf32>) -> tensor<1x?x{V}xf32>")
w(f"    return %logits : tensor<1x?x{V}xf32>")
w("  }")
w("}")
print("\n".join(out))
