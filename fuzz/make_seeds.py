#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the project's fixtures.

Usage: make_seeds.py OUT_DIR SOURCE_ROOT
Writes OUT_DIR/<target>/<seed> for every target in fuzz/ (the fixtures are
copied or packed in the target's input format; nothing is downloaded).
"""
import glob
import os
import shutil
import struct
import sys

out, root = sys.argv[1], sys.argv[2]


def target(name):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    return d


def put(name, seed, data):
    with open(os.path.join(target(name), seed), "wb") as f:
        f.write(data)


# onnx-reader: the small exported fixtures (the larger ones slow every
# mutation down without adding structure).
for m in sorted(glob.glob(os.path.join(root, "test/fixtures/gpt2/*/model.onnx"))):
    if os.path.getsize(m) <= 2 << 20:
        shutil.copy(m, os.path.join(target("onnx-reader"), os.path.basename(os.path.dirname(m)) + ".onnx"))

# onnxtext-reader: the raising tests' models (lit comments are ONNX text comments).
for m in sorted(glob.glob(os.path.join(root, "test/Import/*.onnxtext"))):
    shutil.copy(m, target("onnxtext-reader"))


# weights-file: well-formed files in the documented layout (checksum left 0:
# the reader must cope with a wrong one too).
def lwt(tensors):
    index, data, offsets = b"", b"", []
    for name, dtype, shape, payload in tensors:
        off = (len(data) + 63) // 64 * 64
        data = data.ljust(off, b"\0") + payload
        index += struct.pack("<I", len(name)) + name.encode() + struct.pack("<BBH", dtype, len(shape), 0)
        index += b"".join(struct.pack("<q", d) for d in shape) + struct.pack("<QQ", off, len(payload))
    data = data.ljust((len(data) + 63) // 64 * 64, b"\0")
    data_off = (64 + len(index) + 63) // 64 * 64
    head = b"LITHEWT\0" + struct.pack("<II", 1, len(tensors)) + struct.pack(
        "<QQQQQQ", 64, len(index), data_off, len(data), 0, 0)
    return (head + index).ljust(data_off, b"\0") + data


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
put("weights-file", "one.lwt", lwt([("w", 0, [2, 2], f32(1, 2, 3, 4))]))
put("weights-file", "mixed.lwt", lwt([("emb", 0, [3], f32(0.5, 1, 2)), ("ids", 5, [2], struct.pack("<qq", 1, 2)),
                                      ("q", 3, [], b"\x07"), ("h", 1, [2], b"\x00\x3c\x00\x7c")]))
put("weights-file", "empty.lwt", lwt([]))

# tokenizer: the texts the runtime tests feed the binary, and a few scripts.
for t in glob.glob(os.path.join(root, "test/Runtime/Inputs/*.txt")) + glob.glob(
        os.path.join(root, "test/Tools/Inputs/*.txt")):
    with open(t, "rb") as f:
        put("tokenizer", os.path.basename(t), f.read()[:4096])
for i, s in enumerate(["Once upon a time", "naïve café — 日本語 🙂\r\n\ttabs  and   spaces",
                       "<|endoftext|>It's 3.14'll've", "\u0130stanbul \U0001F468\u200D\U0001F469"]):
    put("tokenizer", "text%d.txt" % i, s.encode())


# adapter-reader: lithe-tiny's adapters, packed as byte 0 (layout), u32 JSON
# length, JSON, safetensors.
def pack(kind, json_path, st_path):
    with open(json_path, "rb") as f:
        j = f.read()
    with open(st_path, "rb") as f:
        st = f.read()
    return bytes([kind]) + struct.pack("<I", len(j)) + j + st


ad = os.path.join(root, "examples/gpt2/lithe-tiny/adapters")
if os.path.isdir(ad):
    for name in ("lora", "ia3"):
        put("adapter-reader", name + ".bin",
            pack(0, os.path.join(ad, name, "adapter_config.json"), os.path.join(ad, name, "adapter_model.safetensors")))
    put("adapter-reader", "bitfit.bin",
        pack(1, os.path.join(ad, "bitfit", "bitfit.json"), os.path.join(ad, "bitfit", "bitfit.safetensors")))

# runtime-cli: NUL-separated arguments, then "\0\0" and the -f/--perplexity file.
args = lambda *a, file=b"": b"\0".join(x.encode() for x in a) + (b"\0\0" + file if file else b"")
for i, seed in enumerate([
        args("-p", "Once upon a time", "-n", "8"),
        args("-p", "Sherlock Holmes said", "-n", "100000", "--json"),
        args("-p", "hi", "--beams", "3", "-n", "6"),
        args("-p", "hi", "--temp", "0.8", "--top-k", "40", "--top-p", "0.9", "--seed", "7"),
        args("-f", "x", file="The history of the United States\n".encode()),
        args("--perplexity", "x", "--ctx", "16", "--stride", "8", "--json", file=b"one two three four five six seven " * 8),
        args("--bench", "--bench-prompt", "8", "--bench-tokens", "4", "--bench-runs", "1", "--json"),
        args("--ids", "1,2,3,4", "--past", "2"),
        args("--ids", "5,6", "--dump-logits", "x"),
        args("--help"),
        args("-p", "", "-n", "abc")]):
    put("runtime-cli", "args%d" % i, seed)
