#!/usr/bin/env python3
"""Record reference GPT-2 encodings for test/unit/TokenizerTest.cpp.

The reference is Hugging Face's GPT2TokenizerFast built from the local GPT-2
files (never from a hub name): encoder.json / vocab.bpe are copied to a
temporary directory as vocab.json / merges.txt.

    python3 test/unit/Inputs/tokenizer/gen_cases.py \\
        [--tokenizer-dir /work/shared/data/gpt2-tokenizer] \\
        [--data-dir /work/shared/data]

Writes, next to this script:

cases.txt   one case per line, tab-separated:
                name <TAB> UTF-8 text as lowercase hex <TAB> ids (space-separated)
            Lines starting with '#' are comments. Hex keeps every byte (tabs,
            newlines, CR, NUL) intact without an escaping scheme.

corpus.txt  token count and hash of the encodings of data files, one per line:
                file <TAB> prefix bytes (0 = whole file) <TAB> count <TAB> hash
            The prefix is cut back to a UTF-8 character boundary (the recorded
            number is the exact byte count encoded). hash = FNV-1a 64 over each
            id as 4 little-endian bytes, as 16 lowercase hex digits.
"""

import argparse
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    ("empty", ""),
    ("english", "Hello, world! This is a test of the GPT-2 tokenizer."),
    ("punctuation", "Wait... what?! (yes) [no] {maybe} -- \"quoted\" 'single' #hash @at "
                    "$5.00 100% a&b a*b=c ~tilde `back` ^caret |pipe| \\back/slash;:"),
    ("contractions", "I'm sure you'll see they've done what we'd said: it's John's, isn't it? "
                     "We're here. DON'T SHOUT 'TIL IT'S DONE. rock'n'roll 'quoted' ''s"),
    ("numbers", "In 2023, 1,234,567 people paid $3.14159 each; 0x1F is 31 and 1e-9 is tiny. "
                "007 12345678901234567890 -42 +7 3rd 21st"),
    ("multiple_spaces", "a  b   c    d     e      f"),
    ("newlines", "line1\nline2\n\nline3\n\n\n  indented\n"),
    ("tabs", "col1\tcol2\t\tcol3\t \tend\t"),
    ("trailing_spaces", "trailing spaces   "),
    ("leading_spaces", "   leading"),
    ("only_whitespace", " \n\t \n"),
    ("crlf", "windows\r\nline endings\r\n\r\n"),
    ("accented_latin", "Café naïve résumé façade jalapeño Ångström Zürich crème brûlée "
                       "Łódź Dvořák São Paulo"),
    ("greek", "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο."),
    ("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей чаю."),
    ("cjk", "我能吞下玻璃而不伤身体。私はガラスを食べられます。유리를 먹을 수 있어요"),
    ("emoji", "I love 🍕 and 🎉! 👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🇫🇷 flag 😀😀"),
    ("combining_marks", "e\u0301 vs \u00e9; a\u0308\u0304; Z\u0351\u0352\u0353algo; "
                        "\u0301 alone; n\u0303o"),
    ("devanagari", "नमस्ते दुनिया, हिन्दी"),
    ("arabic_hebrew", "مرحبا بالعالم שלום עולם"),
    ("mixed_scripts", "Englishрусский中文العربيةहिन्दी123abc"),
    ("unicode_numbers", "Ⅻ ½ ² ٣٤ ៣ ①②"),
    ("unicode_spaces", "nbsp\u00a0here \u00a0 ideographic\u3000space zero\u200bwidth "
                       "line\u2028sep next\u0085line em\u2003space  \u2003x"),
    ("ascii_separators", "a\x1cb \x1d\x1e\x1f c"),
    ("control_chars", "\x00\x01\x07 bell\x7f del\x0b\x0c"),
    ("new_unicode", "x\U0002EBF0y x\u1C89y x\U00010D40y x\u088Fy"),
    ("endoftext_middle", "Hello<|endoftext|>World"),
    ("endoftext_spaced", "end of doc. <|endoftext|> Start of next"),
    ("endoftext_repeated", "<|endoftext|><|endoftext|>"),
    ("endoftext_only", "<|endoftext|>"),
    ("endoftext_partial", "<|endoftext| and <|endoftext and endoftext|> <| |>"),
    ("endoftext_newlines", "one\n\n<|endoftext|>\n\ntwo"),
    ("code", "def f(x):\n    return x**2  # square\n\tif (a && b) { c++; }\n"),
    ("url_email", "https://example.com/path?q=1&r=2 user@example.org"),
    ("long_words", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
    ("repeated_chars", "a" * 40 + "!" * 27 + "???" + "=" * 20),
    ("long_space_run", " " * 3000 + "x"),
    ("long_letter_run", "a" * 3000),
    ("long_newline_run", "\n" * 1000 + "end"),
]


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for b in b"".join(struct.pack("<i", i) for i in ids):
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def cut_utf8(data, n):
    """data[:n] cut back to a character boundary."""
    n = min(n, len(data))
    while n > 0 and n < len(data) and (data[n] & 0xC0) == 0x80:
        n -= 1
    return data[:n]


def paragraph(path, start, size=2048):
    """~2 KB of a data file, starting at the first line start after `start`."""
    data = open(path, "rb").read()
    begin = data.index(b"\n", start) + 1
    return cut_utf8(data[begin:], size).decode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", default="/work/shared/data/gpt2-tokenizer")
    ap.add_argument("--data-dir", default="/work/shared/data")
    args = ap.parse_args()

    import tokenizers
    import transformers
    from transformers import GPT2TokenizerFast

    tmp = tempfile.mkdtemp(prefix="lithe-tok-")
    try:
        src = args.tokenizer_dir
        pairs = [("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")]
        for v, m in pairs:
            if os.path.exists(os.path.join(src, v)) and os.path.exists(os.path.join(src, m)):
                shutil.copy(os.path.join(src, v), os.path.join(tmp, "vocab.json"))
                shutil.copy(os.path.join(src, m), os.path.join(tmp, "merges.txt"))
                break
        else:
            sys.exit("no tokenizer files in %s" % src)
        tok = GPT2TokenizerFast(os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt"))
    finally:
        shutil.rmtree(tmp)

    def encode(text):
        ids = tok(text)["input_ids"]
        assert tok.decode(ids, clean_up_tokenization_spaces=False) == text or "\x00" in text
        return ids

    cases = list(CASES)
    cases.append(("wikitext_paragraph",
                  paragraph(os.path.join(args.data_dir, "wikitext-2-raw-test.txt"), 20000)))
    cases.append(("grimm_paragraph",
                  paragraph(os.path.join(args.data_dir, "grimm-tales.txt"), 60000)))

    header = ("# Reference GPT-2 encodings from Hugging Face GPT2TokenizerFast "
              "(transformers %s, tokenizers %s), written by gen_cases.py.\n"
              "# name<TAB>UTF-8 text as hex<TAB>ids separated by spaces\n"
              % (transformers.__version__, tokenizers.__version__))
    with open(os.path.join(HERE, "cases.txt"), "w", encoding="ascii", newline="\n") as f:
        f.write(header)
        for name, text in cases:
            ids = encode(text)
            f.write("%s\t%s\t%s\n" % (name, text.encode("utf-8").hex(), " ".join(map(str, ids))))

    with open(os.path.join(HERE, "corpus.txt"), "w", encoding="ascii", newline="\n") as f:
        f.write("# Token count and FNV-1a 64 hash of GPT2TokenizerFast encodings "
                "(transformers %s, tokenizers %s), written by gen_cases.py.\n"
                "# file<TAB>prefix bytes (0 = whole file)<TAB>count<TAB>hash\n"
                % (transformers.__version__, tokenizers.__version__))
        for name, prefix in [("wikitext-2-raw-test.txt", 200 * 1024),
                             ("wikitext-2-raw-test.txt", 0),
                             ("grimm-tales.txt", 0)]:
            data = open(os.path.join(args.data_dir, name), "rb").read()
            if prefix:
                data = cut_utf8(data, prefix)
            ids = encode(data.decode("utf-8"))
            f.write("%s\t%d\t%d\t%s\n" % (name, len(data) if prefix else 0, len(ids), fnv1a64(ids)))
    print("wrote %d cases and corpus hashes to %s" % (len(cases), HERE))


if __name__ == "__main__":
    main()
