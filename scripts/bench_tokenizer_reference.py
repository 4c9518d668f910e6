"""Reference half of scripts/bench-tokenizer.sh: builds the English text (Python standard
library docstrings and the licence texts of installed Debian packages, de-duplicated,
until >= 5 MB) and times Hugging Face `tokenizers` on it, one thread, paragraph by
paragraph, writing the ids for the Swift side to compare."""
import ast
import glob
import json
import os
import sys
import time

from tokenizers import pre_tokenizers
from transformers import AutoTokenizer

gguf_path, text_path, ids_path = sys.argv[1:4]

if not os.path.exists(text_path):
    parts, seen, size = [], set(), 0
    root = os.path.dirname(os.__file__)
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        if "test" in dirpath.split(os.sep) or "site-packages" in dirpath:
            continue
        for f in sorted(files):
            if f.endswith(".py"):
                try:
                    tree = ast.parse(open(os.path.join(dirpath, f), encoding="utf-8").read())
                except Exception:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                        doc = ast.get_docstring(node)
                        if doc and doc not in seen:
                            seen.add(doc)
                            parts.append(doc)
                            size += len(doc.encode())
    for path in sorted(glob.glob("/usr/share/doc/*/copyright")) + sorted(glob.glob("/usr/share/common-licenses/*")):
        if size >= 5_200_000:
            break
        try:
            for para in open(path, encoding="utf-8").read().split("\n\n"):
                if para.strip() and para not in seen:
                    seen.add(para)
                    parts.append(para)
                    size += len(para.encode())
        except (UnicodeDecodeError, IsADirectoryError):
            continue
    with open(text_path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts))

text = open(text_path, encoding="utf-8").read()
paragraphs = [p for p in text.split("\n\n") if p]
tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
backend = tok.backend_tokenizer
if "smollm" in os.path.basename(gguf_path).lower():
    # SmolLM2's own pre-tokenizer (see scripts/fixtures/make_tokenizer_fixtures.py).
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
backend.encode_special_tokens = True
best, first, ids = float("inf"), None, []
for _ in range(3):
    start = time.perf_counter()
    encodings = backend.encode_batch(paragraphs, add_special_tokens=False)
    elapsed = time.perf_counter() - start
    first = elapsed if first is None else first
    best = min(best, elapsed)
    ids = [i for e in encodings for i in e.ids]
import array
array.array("i", ids).tofile(open(ids_path, "wb"))
mb = len(text.encode()) / 1e6
print(json.dumps({"bench": "tokenize_reference", "library": "tokenizers (Rust) single thread", "paragraphs": len(paragraphs),
                  "megabytes": round(mb, 2), "tokens": len(ids), "first_round_s": round(first, 3), "best_s": round(best, 3),
                  "mb_per_s": round(mb / best, 2), "tokens_per_s": int(len(ids) / best)}))
