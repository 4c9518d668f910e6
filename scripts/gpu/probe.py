"""GPU probe (runs on the GPU machine, python with torch + transformers): random-weight
models of two real shapes around SmolLM2's tokenizer, then our binary against transformers
on the same GPU — logits of greedy continuations (float32, bfloat16), generation speed,
training-step speed — and a 3-step IAP run on CUDA. Writes $OUT/probe.json; prints lines.

usage: python3 probe.py IAP_BINARY BENCH_BINARY TOKENIZER_FOLDER ENCODER_FOLDER (files without weights)
"""
import json, os, shutil, subprocess, sys, time, traceback

import torch
from transformers import AutoModelForCausalLM, BertConfig, BertModel, LlamaConfig, Qwen2Config

IAP, BENCH, TOKENIZER, ENCODER = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
OUT = os.environ.get("OUT", "/tmp/out")
WORK = "/tmp/probe"
results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
PROMPT = "The lighthouse keeper opened the bottle and read the message:"


def save():
    with open(os.path.join(OUT, "probe.json"), "w") as f:
        json.dump(results, f, indent=1)


def iap(*args, timeout=180):
    start = time.time()
    if args[0] == "train":  # progress lines land in $OUT as they come (a hang shows where)
        with open(os.path.join(OUT, "train.log"), "a") as log:
            log.write(f"$ iap {' '.join(args)}\n")
            log.flush()
            p = subprocess.run([IAP, *args], stdout=subprocess.PIPE, stderr=log, text=True, timeout=timeout)
        p.stderr = open(os.path.join(OUT, "train.log")).read()[-2000:]
    elif args[0] == "bench":  # the benchmarks are their own program
        p = subprocess.run([BENCH, *args[1:]], capture_output=True, text=True, timeout=timeout)
    else:
        p = subprocess.run([IAP, *args], capture_output=True, text=True, timeout=timeout)
    took = time.time() - start
    if p.returncode != 0:
        raise RuntimeError(f"iap {' '.join(args[:3])}… exit {p.returncode}: {p.stderr[-2000:]}{p.stdout[-1000:]}")
    return p.stdout, took


def step(name, fn):
    print(f"== {name}", flush=True)
    try:
        results[name] = fn()
    except Exception as e:  # the probe goes on; the failure is the result
        results[name] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
    print(json.dumps(results[name])[:1500], flush=True)
    save()


def make_model(name, config):
    path = os.path.join(WORK, name)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(path)
    for f in os.listdir(TOKENIZER):
        if f != "config.json":
            shutil.copy(os.path.join(TOKENIZER, f), path)
    return path


def shapes():
    base = json.load(open(os.path.join(TOKENIZER, "config.json")))
    common = dict(vocab_size=base["vocab_size"], bos_token_id=base.get("bos_token_id"), eos_token_id=base.get("eos_token_id"),
                  tie_word_embeddings=True, max_position_embeddings=4096)
    llama = LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                        num_key_value_heads=3, rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 100000.0}, **common)
    qwen = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                       num_key_value_heads=2, rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)
    encoder = os.path.join(WORK, "bert-minilm")
    torch.manual_seed(0)
    BertModel(BertConfig.from_pretrained(ENCODER), add_pooling_layer=False).save_pretrained(encoder)
    for f in os.listdir(ENCODER):
        if f != "config.json":
            shutil.copy(os.path.join(ENCODER, f), encoder)
    models = {"llama-135m": make_model("llama-135m", llama), "bert": encoder}
    if os.environ.get("PROBE_ONLY") != "train":
        models["qwen2-0.5b"] = make_model("qwen2-0.5b", qwen)
    return models


def teacher_forced(model, ids, new):
    """Log-probs of `new` after `ids` (one sequence), float32 on the result."""
    x = torch.tensor([ids + new], device="cuda")
    with torch.no_grad():
        logits = model(x).logits[0, len(ids) - 1:-1].float()
    return torch.log_softmax(logits, -1).gather(-1, torch.tensor(new, device="cuda")[:, None])[:, 0]


def correctness(path):
    ids = json.loads(iap("tokenize", "--model", path, "--text", PROMPT, "--add-special-tokens", "--json")[0])["ids"]
    runs = {}
    for device, dtype in [("cuda", "float32"), ("cpu", "float32"), ("cuda", "bfloat16")]:
        out, took = iap("generate", "--model", path, "--prompt", PROMPT, "--greedy", "--max-tokens", "48", "--json",
                        "--device", device, "--dtype", dtype)
        runs[f"{device}-{dtype}"] = json.loads(out.strip().splitlines()[-1]) | {"seconds": round(took, 2)}
    report = {"prompt_tokens": len(ids)}
    hf32 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).cuda().eval()
    hf16 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).cuda().eval()
    with torch.no_grad():
        g = hf32.generate(torch.tensor([ids], device="cuda"), do_sample=False, max_new_tokens=48, min_new_tokens=48)
    hf_tokens = g[0, len(ids):].tolist()
    for key, run in runs.items():
        tokens, ours = run["token_ids"], torch.tensor(run["logprobs"], device="cuda")
        if not tokens:
            report[key] = {"tokens": 0}
            continue
        ref32 = teacher_forced(hf32, ids, tokens)
        ref16 = teacher_forced(hf16, ids, tokens)
        same = next((i for i, (a, b) in enumerate(zip(tokens, hf_tokens)) if a != b), min(len(tokens), len(hf_tokens)))
        report[key] = {
            "tokens": len(tokens), "finish": run["finish_reason"], "greedy_equal_prefix": same,
            "max_abs_logprob_vs_hf_fp32": float((ours - ref32).abs().max()),
            "hf_bf16_vs_hf_fp32": float((ref16 - ref32).abs().max()), "seconds": run["seconds"],
        }
    return report


def hf_generate_speed(path, batch, new, prompt_tokens):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    x = torch.randint(100, 1000, (1, prompt_tokens), device="cuda").repeat(batch, 1)
    kw = dict(do_sample=True, max_new_tokens=new, min_new_tokens=new, pad_token_id=0)
    with torch.no_grad():
        model.generate(x[:2], **(kw | {"max_new_tokens": 4, "min_new_tokens": 4}))
        torch.cuda.synchronize()
        start = time.time()
        out = model.generate(x, **kw)
        torch.cuda.synchronize()
    s = time.time() - start
    produced = (out.shape[1] - prompt_tokens) * batch
    return {"tokens": produced, "seconds": round(s, 2), "tokens_per_s": round(produced / s, 1)}


def generation_speed(path):
    report = {}
    for batch, new in [(64, 512), (256, 256)]:
        out, _ = iap("bench", "generate", "--model", path, "--batch", str(batch), "--new-tokens", str(new),
                     "--dtype", "bfloat16", "--device", "cuda", "--threads", "4", timeout=240)
        ours = json.loads(out.strip().splitlines()[-1])
        hf = hf_generate_speed(path, batch, new, ours["prompt_tokens"])
        report[f"{batch}x{new}"] = {"ours": ours, "transformers": hf, "ratio_ours_over_hf": round(ours["tokens_per_s"] / hf["tokens_per_s"], 3)}
        print(json.dumps(report[f"{batch}x{new}"]), flush=True)
    return report


def hf_train_speed(path, batch, length):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation="eager").cuda()
    model.gradient_checkpointing_enable()
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (batch, length), device="cuda")

    def one():
        logits = model(ids).logits[:, :-1].float()
        lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])
        (-lp.mean()).backward()
        model.zero_grad(set_to_none=False)
        torch.cuda.synchronize()

    one()
    torch.cuda.reset_peak_memory_stats()
    best = min(_timed(one) for _ in range(3))
    return {"best_step_s": round(best, 3), "tokens_per_s": round(batch * length / best, 1),
            "peak_gpu_mb": torch.cuda.max_memory_allocated() // 2**20}


def _timed(fn):
    start = time.time()
    fn()
    return time.time() - start


def train_speed(path):
    out, _ = iap("bench", "train-step", "--model", path, "--batch", "8", "--length", "1024", "--dtype", "bfloat16",
                 "--checkpointing", "--device", "cuda", "--threads", "4", timeout=240)
    ours = json.loads(out.strip().splitlines()[-1])
    hf = hf_train_speed(path, 8, 1024)
    return {"ours": ours, "transformers_eager": hf, "ratio_ours_over_hf": round(ours["tokens_per_s"] / hf["tokens_per_s"], 3)}


def iap_run(path, encoder):
    config = os.path.join(WORK, "gpu-iap.yaml")
    with open(config, "w") as f:
        f.write(f"""run: {{name: gpu-probe, seed: 0, steps: 3, checkpoint_every: 1, log_rollouts: 2}}
policy: {{model: {path}, device: cuda, dtype: float32}}
data: {{folder: data/sample, split: train, input: narrative}}
rollout: {{group_size: 5, questions_per_step: 2, max_new_tokens: 64, reference_max_new_tokens: 32}}
reward: {{similarity: rouge-l, similarity_model: {encoder}, malformed: "judged-minus:1.0"}}
judge: {{backend: {os.environ.get("PROBE_JUDGE", "local")}, model: {path if os.environ.get("PROBE_JUDGE", "local") == "local" else encoder}, max_tokens: 32}}
optim: {{lr: 1.0e-5, micro_batch: 5}}
dapo: {{mask_truncated: false, dynamic_sampling: false}}
""")
    run_dir = os.path.join(WORK, "run")
    out, took = iap("train", "--config", config, "--run-dir", run_dir, timeout=int(os.environ.get("PROBE_TRAIN_TIMEOUT", "300")))
    metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    report = {"seconds": round(took, 1), "stdout_tail": out[-1500:], "metrics": metrics}
    # Stop after 2 steps, resume to 3: the resumed step should repeat the uninterrupted one.
    resumed = os.path.join(WORK, "resumed")
    iap("train", "--config", config, "--run-dir", resumed, "--set", "run.steps=2", timeout=int(os.environ.get("PROBE_TRAIN_TIMEOUT", "300")))
    iap("train", "--resume", resumed, "--set", "run.steps=3", timeout=int(os.environ.get("PROBE_TRAIN_TIMEOUT", "300")))
    again = [json.loads(l) for l in open(os.path.join(resumed, "metrics.jsonl"))]
    keys = ["reward/mean", "policy/loss", "policy/kl", "policy/entropy", "policy/grad_norm"]
    report["resume_step3"] = {k: [metrics[-1].get(k), again[-1].get(k)] for k in keys}
    return report


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    paths = {}
    step("doctor", lambda: iap("doctor")[0])
    step("models", lambda: paths.update(shapes()) or paths)
    if paths and os.environ.get("PROBE_ONLY") == "train":
        step("iap_train_cuda/llama-135m", lambda: iap_run(paths["llama-135m"], paths["bert"]))
    elif paths:
        for name in ["llama-135m", "qwen2-0.5b"]:
            step(f"correctness/{name}", lambda: correctness(paths[name]))
        step("generation_speed/qwen2-0.5b", lambda: generation_speed(paths["qwen2-0.5b"]))
        step("train_speed/qwen2-0.5b", lambda: train_speed(paths["qwen2-0.5b"]))
        step("iap_train_cuda/llama-135m", lambda: iap_run(paths["llama-135m"], paths["bert"]))
    save()
