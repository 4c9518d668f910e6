"""Reference half of scripts/bench-models.sh: transformers (PyTorch eager, fp32, CPU) on
the same SmolLM2 GGUF, same threads and shapes as `iap bench generate` / `iap bench train-step`.

    python bench/models_reference.py GGUF generate BATCH NEW_TOKENS THREADS
    python bench/models_reference.py GGUF train-step BATCH LENGTH THREADS
(DTYPE=bfloat16 in the environment for bf16 weights; PROMPT_TOKENS=N lengthens the prompt; AUTOCAST=bfloat16 for float32 weights
under torch.autocast("cpu", bfloat16) in the training step; STEPS=N timed steps, default 3.)
"""
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, mode, a, b, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
DTYPE = getattr(torch, os.environ.get("DTYPE", "float32"))
AUTOCAST = os.environ.get("AUTOCAST", "off")
torch.set_num_threads(threads)
folder, name = os.path.dirname(gguf), os.path.basename(gguf)
tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=DTYPE)
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."

if mode == "generate":
    model.eval()
    if tok.chat_template:
        text = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False, add_generation_prompt=True)
    else:  # a base model: iap's plain template (docs/chat-templates.md), as `iap-bench generate` renders it
        text = (tok.bos_token or "") + "User: " + PROMPT + "\n\nAssistant:"
    ids = tok([text] * a, return_tensors="pt", add_special_tokens=False)
    want = int(os.environ.get("PROMPT_TOKENS", "0"))
    if want:  # lengthened as `iap-bench generate --prompt-tokens` does: the request repeated after it
        prompt = tok(text, add_special_tokens=False).input_ids
        filler = tok(" " + PROMPT, add_special_tokens=False).input_ids
        while len(prompt) < want:
            prompt += filler
        row = torch.tensor([prompt[:want]] * a)
        ids = {"input_ids": row, "attention_mask": torch.ones_like(row)}
    settings = dict(do_sample=True, temperature=1.0, top_p=1.0, top_k=0, pad_token_id=tok.eos_token_id)
    with torch.no_grad():
        model.generate(**tok([text] * 2, return_tensors="pt", add_special_tokens=False), max_new_tokens=4, **settings)
        torch.manual_seed(1)
        start = time.perf_counter()
        out = model.generate(**ids, max_new_tokens=b, min_new_tokens=b, **settings)
        seconds = time.perf_counter() - start
    produced = (out.shape[1] - ids["input_ids"].shape[1]) * a
    print(json.dumps({"bench": "generate_reference", "library": "transformers generate", "batch": a, "new_tokens": b,
                      "prompt_tokens": ids["input_ids"].shape[1], "threads": threads, "dtype": str(DTYPE).split(".")[-1], "tokens": produced,
                      "seconds": round(seconds, 2), "tokens_per_s": round(produced / seconds, 1)}))
else:
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (a, b), generator=torch.Generator().manual_seed(0))

    def step():
        with torch.autocast("cpu", dtype=getattr(torch, AUTOCAST if AUTOCAST != "off" else "bfloat16"), enabled=AUTOCAST != "off"):
            logits = model(ids).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:, None])[..., 0]
            (-logp.mean()).backward()
        model.zero_grad(set_to_none=True)

    step()
    best = float("inf")
    for _ in range(int(os.environ.get("STEPS", "3"))):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"bench": "train_step_reference", "library": "transformers (PyTorch eager)", "batch": a, "length": b,
                      "threads": threads, "dtype": str(DTYPE).split(".")[-1], "autocast": AUTOCAST, "best_step_s": round(best, 3), "tokens_per_s": round(a * b / best, 1)}))
