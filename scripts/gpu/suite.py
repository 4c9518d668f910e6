"""The GPU suite (issue 13; `bash gpu/suite.sh`, which see). Random-weight Hugging Face
folders of real shapes around SmolLM2's tokenizer, written here by transformers; then our
binaries against transformers on the same device in the same run:

- doctor;
- correctness: our log-probs of greedy continuations vs transformers teacher-forced, float32
  (≤ 1e-3) and bfloat16 (no worse than transformers' own bf16-vs-fp32 gap); greedy tokens equal;
- generation speed (bfloat16; ours vs transformers `generate`, sdpa) with the decode steps'
  memory bandwidth against the card's peak;
- rollouts: groups of G with spread lengths, a bounded row count: static vs continuous batching;
- training step: Qwen2.5-0.5B shape in bfloat16 weights, Qwen2.5-1.5B shape in float32 weights
  under bfloat16 autocast, 8 × 1,024 tokens, gradient checkpointing: tokens/s and the peak
  device memory (ours vs transformers eager with the same settings);
- a 3-step IAP run on the device, checkpoint, resume: the resumed step equals the uninterrupted one;
- gemma-3-12b-it's folder shape (multimodal wrapper, turn end only at config.json's top level and
  in generation_config.json): greedy decoding stops where transformers' does;
- the paper's update at its own shape: Qwen2.5-7B with random weights made on the card (no
  files), one micro-batch of 3,072 tokens, LoRA r 16 over all 28 layers and full fine-tuning over
  as many layers as `iap plan` says fit; tokens/s and peak memory beside the plan's figure;
- one whole IAP step at the paper's shape: `iap-bench iap-step` on a Qwen2.5-7B shape with LoRA
  r 16, G = 5 rollouts at the 2,048-token budget, reference answers, the update; phase times,
  tokens/s beside NeMo-RL's 1,562 per H100, peak memory beside `iap plan`;
- CUDA graphs (`--decode-steps cuda-graphs`; the dry run checks the same static steps run
  eagerly): greedy tokens and log-probs equal to eager steps in float32 (in `correctness`), and
  generation speed with graphs vs eager steps (in `generation_speed`).

--mode cpu-dry-run runs every step on the CPU with tiny shapes (a check that the suite itself
works before a GPU machine is at hand); figures from it mean nothing.
Writes $OUT/suite.json; prints each step's result as it comes.
"""
import argparse, json, os, shutil, subprocess, sys, threading, time, traceback

import torch
from transformers import AutoModelForCausalLM, BertConfig, BertModel, Gemma3TextConfig, LlamaConfig, Qwen2Config

parser = argparse.ArgumentParser()
parser.add_argument("--mode", choices=["cuda", "cpu-dry-run"], default="cuda")
parser.add_argument("--bin", required=True, help="folder with iap and iap-bench")
parser.add_argument("--tokenizer", required=True, help="SmolLM2's tokenizer files (no weights)")
parser.add_argument("--encoder", required=True, help="MiniLM's files (no weights)")
ARGS = parser.parse_args()
DRY = ARGS.mode == "cpu-dry-run"
DEVICE = "cpu" if DRY else "cuda"
IAP, BENCH = os.path.join(ARGS.bin, "iap"), os.path.join(ARGS.bin, "iap-bench")
TOKENIZER, ENCODER = ARGS.tokenizer, ARGS.encoder
OUT = os.environ.get("OUT", "/tmp/out")
WORK = "/tmp/iap-suite"
results = {"mode": ARGS.mode, "device": torch.cuda.get_device_name(0) if not DRY else "cpu (dry run)", "torch": torch.__version__}
PROMPT = "The lighthouse keeper opened the bottle and read the message:"
# Peak memory bandwidth of the cards we are lent (bytes/s), for the decode-bandwidth figure.
PEAK_BANDWIDTH = {"H100 80GB HBM3": 3.35e12, "H100 PCIe": 2.0e12, "H200": 4.8e12, "H100 NVL": 3.9e12}


def save():
    with open(os.path.join(OUT, "suite.json"), "w") as f:
        json.dump(results, f, indent=1)


def iap(*args, timeout=180, env=None, check=True):
    """Runs our binary (`bench …` runs iap-bench); returns (stdout, seconds). `env`: extra
    environment variables (train only); `check=False` takes exit 2 (`iap plan`: does not fit)
    as an answer."""
    start = time.time()
    if args[0] == "train":  # progress lines land in $OUT as they come (a hang shows where)
        with open(os.path.join(OUT, "train.log"), "a") as log:
            log.write(f"$ iap {' '.join(args)}\n")
            log.flush()
            p = subprocess.run([IAP, *args], stdout=subprocess.PIPE, stderr=log, text=True, timeout=timeout,
                               env={**os.environ, **(env or {})})
        p.stderr = open(os.path.join(OUT, "train.log")).read()[-2000:]
    elif args[0] == "bench":  # the benchmarks are their own program
        p = subprocess.run([BENCH, *args[1:]], capture_output=True, text=True, timeout=timeout)
    else:
        p = subprocess.run([IAP, *args], capture_output=True, text=True, timeout=timeout)
    took = time.time() - start
    if p.returncode != 0 and (check or p.returncode != 2):
        raise RuntimeError(f"iap {' '.join(args[:3])}… exit {p.returncode}: {p.stderr[-2000:]}{p.stdout[-1000:]}")
    return p.stdout, took


class PeakGPUMemory:
    """Polls nvidia-smi for a process's GPU memory while it runs (our binary has no CUDA
    memory statistics; the same measure is taken of transformers for a like comparison)."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self):
        while self.running:
            try:
                out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                for line in out.splitlines():
                    pid, used = [x.strip() for x in line.split(",")]
                    if int(pid) == self.pid:
                        self.peak = max(self.peak, int(used))
            except Exception:
                pass
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def bench_runs_with_memory(*args, timeout=300):
    """iap-bench's JSON lines, the process's peak GPU memory (MiB, nvidia-smi; None on the CPU)
    and its wall seconds."""
    start = time.time()
    p = subprocess.Popen([BENCH, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = PeakGPUMemory(p.pid) if not DRY else None
    out, err = p.communicate(timeout=timeout)
    peak = watch.stop() if watch else None
    if p.returncode != 0:
        raise RuntimeError(f"iap-bench {' '.join(args[:3])}… exit {p.returncode}: {err[-2000:]}")
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")], peak, round(time.time() - start, 1)


def bench_with_memory(*args, timeout=300):
    """iap-bench's last result with its process's peak GPU memory (MiB, nvidia-smi) on cuda."""
    lines, peak, wall = bench_runs_with_memory(*args, timeout=timeout)
    return lines[-1] | {"peak_gpu_mib_nvidia_smi": peak, "wall_s": wall}


def step(name, fn):
    print(f"== {name}", flush=True)
    start = time.time()
    try:
        results[name] = fn()
    except Exception as e:  # the probe goes on; the failure is the result
        results[name] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
    results.setdefault("step_seconds", {})[name] = round(time.time() - start, 1)
    print(json.dumps(results[name])[:1500], f"({time.time() - start:.0f} s)", flush=True)
    save()


def make_model(name, config, dtype):
    path = os.path.join(WORK, name)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    if name.startswith("gemma"):  # random norm weights: transformers' zeros hide how x·(1 + w) is rounded
        with torch.no_grad():
            for key, p in model.named_parameters():
                if key.endswith("norm.weight"):
                    p.normal_(0, 0.5)
    model.save_pretrained(path)
    for f in os.listdir(TOKENIZER):
        if f != "config.json":
            shutil.copy(os.path.join(TOKENIZER, f), path)
    return path


def configs():
    """Random-weight model shapes: SmolLM2-135M (Llama, GQA 9/3), Qwen2.5-0.5B (biases, GQA 14/2),
    Qwen2.5-1.5B (GQA 12/2), Gemma 3 270M (sliding window, every 6th layer global), a 4-layer
    slice of Qwen2.5-7B's width (hidden 3,584, MLP 18,944, GQA 28/4: per-layer speed and
    memory of a LoRA update at the paper's size), a tiny Llama (the local judge). Dry run:
    tiny stand-ins of each. All share SmolLM2's tokenizer (vocabulary 49,152)."""
    base = json.load(open(os.path.join(TOKENIZER, "config.json")))
    common = dict(vocab_size=base["vocab_size"], bos_token_id=base.get("bos_token_id"), eos_token_id=base.get("eos_token_id"),
                  tie_word_embeddings=True, max_position_embeddings=4096)
    def llama(hidden, inter, layers, heads, kv):
        return LlamaConfig(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
                           num_key_value_heads=kv, rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 100000.0}, **common)
    def qwen(hidden, inter, layers, heads, kv):
        return Qwen2Config(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
                           num_key_value_heads=kv, rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)
    def gemma(hidden, inter, layers, heads, kv, head_dim):
        # A window of 16 so the 48-token greedy check crosses it (Gemma 3 270M's is 512).
        return Gemma3TextConfig(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
                                num_key_value_heads=kv, head_dim=head_dim, sliding_window=16, query_pre_attn_scalar=head_dim,
                                **(common | {"max_position_embeddings": 32768}))
    if DRY:
        shapes = {"llama-135m": llama(64, 128, 2, 4, 2), "qwen2-0.5b": qwen(64, 128, 2, 4, 2), "qwen2-1.5b": qwen(96, 192, 2, 6, 2),
                  "gemma3-270m": gemma(64, 128, 6, 4, 1, 16), "qwen2-7b-slice": qwen(112, 256, 2, 4, 2)}
    else:
        shapes = {"llama-135m": llama(576, 1536, 30, 9, 3), "qwen2-0.5b": qwen(896, 4864, 24, 14, 2),
                  "qwen2-1.5b": qwen(1536, 8960, 28, 12, 2), "gemma3-270m": gemma(640, 2048, 18, 4, 1, 256),
                  "qwen2-7b-slice": qwen(3584, 18944, 4, 28, 4)}
    shapes["judge-tiny"] = llama(64, 128, 2, 4, 2)
    return shapes


MODELS = {}


def model(name):
    """The folder of one random-weight model, written on first use (a step that is not run
    writes nothing); "bert" is MiniLM's shape."""
    if name not in MODELS:
        if name == "bert":
            path = os.path.join(WORK, "bert-minilm")
            torch.manual_seed(0)
            BertModel(BertConfig.from_pretrained(ENCODER), add_pooling_layer=False).save_pretrained(path)
            for f in os.listdir(ENCODER):
                if f != "config.json":
                    shutil.copy(os.path.join(ENCODER, f), path)
            MODELS[name] = path
        else:
            MODELS[name] = make_model(name, configs()[name], torch.bfloat16 if name == "qwen2-7b-slice" else torch.float32)
    return MODELS[name]


def teacher_forced(model, ids, new):
    """Log-probs of `new` after `ids` (one sequence), float32 on the result."""
    x = torch.tensor([ids + new], device=DEVICE)
    with torch.no_grad():
        logits = model(x).logits[0, len(ids) - 1:-1].float()
    return torch.log_softmax(logits, -1).gather(-1, torch.tensor(new, device=DEVICE)[:, None])[:, 0]


def correctness(path):
    """Greedy 48 tokens, ours on the device in float32 and bfloat16 (and on the CPU in float32),
    against transformers on the device; passes: fp32 ≤ 1e-3, greedy equal, bf16 ≤ transformers' gap."""
    ids = json.loads(iap("tokenize", "--model", path, "--text", PROMPT, "--add-special-tokens", "--json")[0])["ids"]
    runs = {}
    plan = [("cpu", "float32", "eager"), ("cpu", "float32", "static"), ("cpu", "bfloat16", "eager")] if DRY else \
        [("cuda", "float32", "eager"), ("cuda", "float32", "cuda-graphs"), ("cpu", "float32", "eager"), ("cuda", "bfloat16", "eager")]
    graph_error = None
    for device, dtype, steps in plan:
        key = f"{device}-{dtype}" if steps == "eager" else f"{device}-{steps}-{dtype}"
        try:
            out, took = iap("generate", "--model", path, "--prompt", PROMPT, "--greedy", "--max-tokens", "48", "--json",
                            "--device", device, "--dtype", dtype, "--decode-steps", steps)
        except RuntimeError as e:
            if steps == "eager":
                raise
            graph_error = str(e)  # a failing graph capture must not hide the other rows
            continue
        runs[key] = json.loads(out.strip().splitlines()[-1]) | {"seconds": round(took, 2)}
    report = {"prompt_tokens": len(ids)}
    hf32 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(DEVICE).eval()
    hf16 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).to(DEVICE).eval()
    with torch.no_grad():
        g = hf32.generate(torch.tensor([ids], device=DEVICE), do_sample=False, max_new_tokens=48, min_new_tokens=48)
    hf_tokens = g[0, len(ids):].tolist()
    for key, run in runs.items():
        tokens, ours = run["token_ids"], torch.tensor(run["logprobs"], device=DEVICE)
        if not tokens:
            report[key] = {"tokens": 0}
            continue
        ref32, ref16 = teacher_forced(hf32, ids, tokens), teacher_forced(hf16, ids, tokens)
        same = next((i for i, (a, b) in enumerate(zip(tokens, hf_tokens)) if a != b), min(len(tokens), len(hf_tokens)))
        ours_gap, hf_gap = float((ours - ref32).abs().max()), float((ref16 - ref32).abs().max())
        ours_mean, hf_mean = float((ours - ref32).abs().mean()), float((ref16 - ref32).abs().mean())
        entry = {"tokens": len(tokens), "finish": run["finish_reason"], "greedy_equal_prefix": same,
                 "max_abs_logprob_vs_hf_fp32": ours_gap, "hf_bf16_vs_hf_fp32": hf_gap,
                 "mean_abs_logprob_vs_hf_fp32": ours_mean, "hf_bf16_vs_hf_fp32_mean": hf_mean, "seconds": run["seconds"]}
        # bfloat16: the largest of 48 differences of a random model swings by ±20 % between
        # runs and cards (0.032 vs 0.040 on an H100, 0.032 vs 0.031 on an H200 for one shape),
        # so the bar is the mean difference, with the maximum reported beside it.
        entry["pass"] = (ours_gap <= 1e-3 and same == len(tokens)) if key.endswith("float32") else ours_mean <= hf_mean * 1.05
        report[key] = entry
    # Graphed (or, dry, static) decode steps against eager ones on the same device and dtype.
    eager, graphed = runs.get(f"{DEVICE}-float32"), runs.get(f"{DEVICE}-{'static' if DRY else 'cuda-graphs'}-float32")
    if eager and graphed:
        diff = max((abs(a - b) for a, b in zip(eager["logprobs"], graphed["logprobs"])), default=0.0)
        report["decode_steps_vs_eager"] = {"tokens_equal": eager["token_ids"] == graphed["token_ids"], "max_abs_logprob": diff,
                                           "pass": eager["token_ids"] == graphed["token_ids"] and diff <= 1e-4}
    elif graph_error:
        report["decode_steps_vs_eager"] = {"error": graph_error, "pass": False}
    return report


def gemma3_12b_stop():
    """gemma-3-12b-it's folder shape: a multimodal Gemma3ForConditionalGeneration whose turn end
    is named only at config.json's top level and in generation_config.json (text_config keeps
    the default). A 2-layer slice at 12B's width (hidden 3,840, 16 heads of 256, 8 KV heads,
    MLP 15,360) with random weights; the stop id is the token transformers' greedy continuation
    writes 4th, so greedy decoding must end right there, as transformers' does."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, GenerationConfig, SiglipVisionConfig
    base = json.load(open(os.path.join(TOKENIZER, "config.json")))
    width = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16) if DRY else \
        dict(hidden_size=3840, intermediate_size=15360, num_attention_heads=16, num_key_value_heads=8, head_dim=256)
    text = Gemma3TextConfig(vocab_size=base["vocab_size"], num_hidden_layers=2, sliding_window=16, query_pre_attn_scalar=256,
                            max_position_embeddings=4096, **width)
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14)
    torch.manual_seed(0)
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4,
                          boi_token_index=49000, eoi_token_index=49001, image_token_index=49002)
    hf = Gemma3ForConditionalGeneration(config).to(DEVICE).eval()
    ids = json.loads(iap("tokenize", "--model", model("llama-135m"), "--text", PROMPT, "--add-special-tokens", "--json")[0])["ids"]
    with torch.no_grad():
        free = hf.generate(torch.tensor([ids], device=DEVICE), do_sample=False, max_new_tokens=8, min_new_tokens=8)[0, len(ids):].tolist()
    stop = next(t for k, t in enumerate(free) if k >= 3 and t not in free[:k] and 1 not in free[:k + 1])
    hf.config.eos_token_id = [1, stop]
    hf.generation_config = GenerationConfig(eos_token_id=[1, stop], pad_token_id=0)
    path = os.path.join(WORK, "gemma3-12b-it-shaped")
    hf.save_pretrained(path)
    for f in os.listdir(TOKENIZER):
        if f not in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(TOKENIZER, f), path)
    with torch.no_grad():
        want = hf.generate(torch.tensor([ids], device=DEVICE), do_sample=False, max_new_tokens=16)[0, len(ids):].tolist()
    out = json.loads(iap("generate", "--model", path, "--prompt", PROMPT, "--greedy", "--max-tokens", "16", "--json",
                         "--device", DEVICE, "--dtype", "float32")[0].strip().splitlines()[-1])
    inspect = iap("models", "inspect", path)[0]
    stop_line = next((l for l in inspect.splitlines() if l.startswith("stop tokens")), "")
    return {"stop_id": stop, "transformers": want, "ours": out["token_ids"], "finish": out["finish_reason"], "inspect": stop_line,
            "pass": out["token_ids"] == want and want[-1] == stop and out["finish_reason"] == "stop"}


def hf_generate_speed(path, batch, new, prompt_tokens):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation="sdpa").to(DEVICE).eval()
    x = torch.randint(100, 1000, (1, prompt_tokens), device=DEVICE).repeat(batch, 1)
    kw = dict(do_sample=True, max_new_tokens=new, min_new_tokens=new, pad_token_id=0)
    with torch.no_grad():
        model.generate(x[:2], **(kw | {"max_new_tokens": 4, "min_new_tokens": 4}))
        sync()
        start = time.time()
        out = model.generate(x, **kw)
        sync()
    s = time.time() - start
    produced = (out.shape[1] - prompt_tokens) * batch
    return {"tokens": produced, "seconds": round(s, 2), "tokens_per_s": round(produced / s, 1)}


def sync():
    if not DRY:
        torch.cuda.synchronize()


def decode_bandwidth(path, batch, new, prompt_tokens, seconds):
    """Bytes a decode step reads (bf16 weights once, plus the batch's keys and values at the
    mean context length) ÷ the mean step time (prefill included: a lower bound)."""
    config = json.load(open(os.path.join(path, "config.json")))
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16)
    weight_bytes = sum(p.numel() for p in model.parameters()) * 2
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    context = prompt_tokens + new / 2
    kv_bytes = 2 * config["num_hidden_layers"] * config["num_key_value_heads"] * head_dim * context * batch * 2
    achieved = (weight_bytes + kv_bytes) / (seconds / new)
    peak = next((v for k, v in PEAK_BANDWIDTH.items() if k in results["device"]), None)
    return {"bytes_per_step": int(weight_bytes + kv_bytes), "achieved_gb_s": round(achieved / 1e9, 1),
            "card_peak_gb_s": peak and round(peak / 1e9), "fraction_of_peak": peak and round(achieved / peak, 3)}


def generation_speed(path):
    report = {}
    for batch, new in ([(4, 16)] if DRY else [(64, 512), (256, 256)]):
        def bench(steps):
            out, _ = iap("bench", "generate", "--model", path, "--batch", str(batch), "--new-tokens", str(new),
                         "--dtype", "bfloat16", "--device", DEVICE, "--threads", "2" if DRY else "4", "--decode-steps", steps, timeout=240)
            return json.loads(out.strip().splitlines()[-1])
        ours = bench("eager")
        hf = hf_generate_speed(path, batch, new, ours["prompt_tokens"])
        entry = {"ours": ours, "transformers": hf, "ratio_ours_over_hf": round(ours["tokens_per_s"] / hf["tokens_per_s"], 3)}
        entry["decode_bandwidth"] = decode_bandwidth(path, batch, new, ours["prompt_tokens"], ours["seconds"])
        try:  # CUDA graphs in their own process: a failing capture must not hide the eager rows
            graphed = bench("static" if DRY else "cuda-graphs")
            entry |= {"ours_graphs": graphed, "ratio_graphs_over_hf": round(graphed["tokens_per_s"] / hf["tokens_per_s"], 3),
                      "ratio_graphs_over_eager": round(graphed["tokens_per_s"] / ours["tokens_per_s"], 3),
                      "decode_bandwidth_graphs": decode_bandwidth(path, batch, new, graphed["prompt_tokens"], graphed["seconds"])}
        except RuntimeError as e:
            entry["ours_graphs"] = {"error": str(e)}
        report[f"{batch}x{new}"] = entry
        print(json.dumps(entry), flush=True)
    return report


def rollouts(path):
    """Static vs continuous batching of groups with spread lengths, rows bounded."""
    sizes = ["--groups", "4", "--group-size", "2", "--max-rows", "4", "--min-tokens", "4", "--max-tokens", "16"] if DRY else \
        ["--groups", "32", "--group-size", "5", "--max-rows", "80", "--min-tokens", "64", "--max-tokens", "512"]
    def bench(steps):
        out, _ = iap("bench", "rollouts", "--model", path, *sizes, "--dtype", "bfloat16", "--device", DEVICE, "--decode-steps", steps,
                     timeout=300)
        return {r["batching"]: r for r in (json.loads(l) for l in out.splitlines() if l.startswith("{"))}
    by = bench("eager")
    report = {"static": by.get("static"), "continuous": by.get("continuous"),
              "ratio_continuous_over_static": round(by["continuous"]["tokens_per_s"] / by["static"]["tokens_per_s"], 3)}
    # Graphs through joins into finished rows and grown caches (re-captures), in their own process.
    try:
        graphed = bench("static" if DRY else "cuda-graphs")
        report["graphs"] = {"static": graphed.get("static"), "continuous": graphed.get("continuous"),
                            "ratio_graphs_over_eager_continuous": round(graphed["continuous"]["tokens_per_s"] / by["continuous"]["tokens_per_s"], 3)}
    except RuntimeError as e:
        report["graphs"] = {"error": str(e)}
    return report


def hf_train_speed(path, batch, length, dtype, autocast):
    """transformers eager attention, gradient checkpointing; peak memory from torch and nvidia-smi."""
    code = f"""
import json, time, torch
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.{dtype}, attn_implementation="eager").to({DEVICE!r})
model.gradient_checkpointing_enable()
model.train()
ids = torch.randint(0, model.config.vocab_size, ({batch}, {length}), device={DEVICE!r})
def one():
    with torch.autocast({DEVICE!r}, dtype=torch.bfloat16, enabled={autocast}):
        logits = model(ids).logits[:, :-1].float()
        lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])
    (-lp.mean()).backward()
    model.zero_grad(set_to_none=False)
    if {DEVICE!r} == "cuda": torch.cuda.synchronize()
one()
best = float("inf")
for _ in range(3):
    start = time.time(); one(); best = min(best, time.time() - start)
peak = torch.cuda.max_memory_allocated() // 2**20 if {DEVICE!r} == "cuda" else None
print(json.dumps({{"best_step_s": round(best, 3), "tokens_per_s": round({batch} * {length} / best, 1), "peak_allocated_mib_torch": peak}}))
"""
    return python_with_memory(code, "transformers training step", timeout=400)


def python_with_memory(code, what, timeout):
    """Runs a python reference program; its last stdout line (JSON) with its process's peak
    GPU memory (MiB, nvidia-smi) on cuda."""
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = PeakGPUMemory(p.pid) if not DRY else None
    out, err = p.communicate(timeout=timeout)
    peak = watch.stop() if watch else None
    if p.returncode != 0:
        raise RuntimeError(f"{what}: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]) | {"peak_gpu_mib_nvidia_smi": peak}


def train_speed(path, dtype, autocast):
    """8 × 1,024 tokens (dry: 2 × 64), gradient checkpointing, ours vs transformers eager."""
    batch, length = (2, 64) if DRY else (8, 1024)
    ours = bench_with_memory("train-step", "--model", path, "--batch", str(batch), "--length", str(length), "--dtype", dtype,
                             "--autocast", "bfloat16" if autocast else "off", "--checkpointing", "--device", DEVICE,
                             "--threads", "2" if DRY else "4")
    hf = hf_train_speed(path, batch, length, dtype, autocast)
    report = {"ours": ours, "transformers_eager": hf, "ratio_ours_over_hf": round(ours["tokens_per_s"] / hf["tokens_per_s"], 3)}
    if not DRY:
        report["memory_ours_over_hf_nvidia_smi"] = round(ours["peak_gpu_mib_nvidia_smi"] / max(hf["peak_gpu_mib_nvidia_smi"], 1), 3)
    return report


def peft_policy_step(path, batch, length, r):
    """peft's LoRA (all-linear, float32 adapters over the bf16 base, the reference = adapters
    off) for the same update as `iap-bench policy-step`: reference log-probs, forward,
    backward, clipping, AdamW; best of 2 after a warm-up, like ours."""
    code = f"""
import json, time, torch
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model
base = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.bfloat16, attn_implementation="sdpa").to({DEVICE!r})
model = get_peft_model(base, LoraConfig(r={r}, lora_alpha={2 * r}, lora_dropout=0.0, target_modules="all-linear"))
model.train()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=1e-5)
ids = torch.randint(0, base.config.vocab_size, ({batch}, {length}), device={DEVICE!r})
def log_probs():
    logits = model(ids).logits[:, :-1].float()
    return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
def one():
    with torch.no_grad(), model.disable_adapter():
        old = log_probs()
    lp = log_probs()
    (((lp - old) ** 2).mean() - lp.mean()).backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    if {DEVICE!r} == "cuda": torch.cuda.synchronize()
one()
best = float("inf")
for _ in range(2):
    start = time.time(); one(); best = min(best, time.time() - start)
peak = torch.cuda.max_memory_allocated() // 2**20 if {DEVICE!r} == "cuda" else None
print(json.dumps({{"best_step_s": round(best, 3), "tokens_per_s": round({batch} * {length} / best, 1),
                  "trained_parameters": sum(p.numel() for p in params), "peak_allocated_mib_torch": peak}}))
"""
    return python_with_memory(code, "peft policy step", timeout=300)


def lora_policy_step(path):
    """One policy update on the 4-layer slice of Qwen2.5-7B's width, bf16 base, 8 × 1,024
    (dry: 2 × 64): ours with LoRA r 16 on all linear layers vs peft, and ours fully fine-tuned
    (a second frozen copy as the reference) for the memory LoRA saves."""
    batch, length, r = (2, 64, 4) if DRY else (8, 1024, 16)
    common = ["--model", path, "--batch", str(batch), "--length", str(length), "--dtype", "bfloat16", "--device", DEVICE]
    ours = bench_with_memory("policy-step", *common, "--lora-r", str(r))
    full = bench_with_memory("policy-step", *common, "--lora-r", "0")
    peft = peft_policy_step(path, batch, length, r)
    report = {"ours_lora": ours, "ours_full": full, "peft_lora": peft,
              "ratio_ours_over_peft": round(ours["tokens_per_s"] / peft["tokens_per_s"], 3)}
    if not DRY:
        report["memory_ours_over_peft_nvidia_smi"] = round(ours["peak_gpu_mib_nvidia_smi"] / max(peft["peak_gpu_mib_nvidia_smi"], 1), 3)
    return report


def plan_update(shape, batch, length, lora, memory_bytes):
    """`iap plan`'s figures for one policy update (`iap-bench policy-step`'s: no rollouts, no
    checkpointing, ddp on one device): a config written here, the shape as policy.model."""
    config = os.path.join(WORK, "plan.yaml")
    with open(config, "w") as f:
        f.write("policy:\n  dtype: bfloat16\n  device: %s\n  gradient_checkpointing: false\n" % DEVICE
                + "optim:\n  micro_batch: %d\nrollout:\n  max_new_tokens: 1\nlora:\n  r: %d\n" % (batch, lora))
    out, _ = iap("plan", "--config", config, "--json", "--prompt-tokens", str(length - 1), "--set", f"policy.model={shape}",
                 "--gpu-memory", str(memory_bytes / 2**30), timeout=120, check=False)
    plan = json.loads(out)["plan"]
    return {"update_peak_mib": plan["update_peak_bytes"] // 2**20, "fits": plan["update_peak_bytes"] <= memory_bytes,
            "parameters": plan["parameters"], "trained": plan["trained_parameters"]}


def qwen7b_layers(layers):
    """Qwen2.5-7B's config.json with `layers` decoder blocks (dry run: a tiny Qwen2), for
    `shape:` models that iap-bench makes on the device without files."""
    if DRY:
        return "shape:" + os.path.join(model("qwen2-7b-slice"), "config.json")
    path = os.path.join(WORK, f"qwen2.5-7b-{layers}-layers.json")
    with open(path, "w") as f:
        json.dump({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
                   "num_hidden_layers": layers, "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                   "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False}, f)
    return "shape:" + path


def paper_shape_update():
    """The paper's policy update at its own shape on one card (issue 33 §3): Qwen2.5-7B with
    random weights made on the device (`shape:`, no files), bfloat16, one micro-batch of the
    paper's 3,072 tokens (1,024 prompt + 2,048 new; dry: a tiny Qwen2, 2 × 64): LoRA r 16 on
    every linear layer over all 28 layers, and full fine-tuning (a frozen reference copy,
    float32 masters and moments) over as many layers as `iap plan` says fit. Tokens/s and peak
    GPU memory beside the plan's prediction; a setting the plan says cannot fit is reported,
    not run."""
    memory = 64 << 30 if DRY else torch.cuda.get_device_properties(0).total_memory
    batch, length = (2, 64) if DRY else (1, 3072)
    report = {}
    for name, lora, layers in [("lora_r16_28_layers", 16, 28), ("full", 0, None)]:
        if layers is None:  # the most layers a full fine-tuning update fits in
            layers = next((k for k in range(28, 0, -1) if plan_update(qwen7b_layers(k), batch, length, 0, memory)["fits"]), 0)
        shape = qwen7b_layers(layers)
        plan = plan_update(shape, batch, length, lora, memory)
        row = {"layers": "a tiny Qwen2 (dry run)" if DRY else layers, "plan": plan}
        if plan["fits"] and layers > 0:
            ours = bench_with_memory("policy-step", "--model", shape, "--batch", str(batch), "--length", str(length), "--dtype", "bfloat16",
                                     "--device", DEVICE, "--lora-r", str(lora), "--steps", "2", timeout=900)
            row["ours"] = ours
            if ours.get("peak_gpu_mib_nvidia_smi"):
                row["measured_over_plan"] = round(ours["peak_gpu_mib_nvidia_smi"] / plan["update_peak_mib"], 3)
        else:
            row["skipped"] = f"the plan says {plan['update_peak_mib']} MiB does not fit {memory >> 20} MiB"
        report[name] = row
    return report


def paper_shape_iap_step():
    """One whole IAP step at the paper's shape on one card (issue 33 §3): `iap-bench iap-step`
    with configs/paper/qwen2.5-7b-instruct.yaml's settings, a Qwen2.5-7B shape with random
    weights made on the device (no files), LoRA r 16, G = 5 rollouts of 2 questions with the
    tags scaffold at the paper's 2,048-token budget, the sampled reference answers, the update
    (micro-batch 4, gradient checkpointing); a stand-in judge that answers at once. Per phase
    time, tokens/s beside NeMo-RL's 1,562 per H100, and the peak GPU memory beside `iap plan`'s
    prediction for the same config (dry: a tiny Qwen2, 16 tokens). Step 2 is the measure (step 1
    warms the allocator and kernels)."""
    shape = qwen7b_layers(28)
    budget, blocks = ("16", "[4, 4, 4, 4]") if DRY else ("2048", "[256, 256, 256, 1216]")
    sets = [f"policy.device={DEVICE}", "policy.decode_steps=eager", "data.folder=data/sample", "data.limit=2",
            "rollout.questions_per_step=2", "rollout.scaffold=tags", f"rollout.block_budgets={blocks}",
            f"rollout.max_new_tokens={budget}", "rollout.max_batch_rows=10", f"reward.similarity_model={model('bert')}",
            "lora.r=16", "dist.strategy=ddp", "dist.backend=gloo", "dapo.dynamic_sampling=false",
            # Random weights rarely stop before the budget: truncated rollouts are learned from.
            "dapo.mask_truncated=false",
            # A random policy writes no numbered intents: judged anyway (minus 1), so the stand-in
            # judge spreads each group's rewards and the update has a gradient.
            "reward.malformed=judged-minus:1.0"]
    # The tokenizer and chat template come from a folder opened as a model (random SmolLM2 weights beside them).
    args = ["iap-step", "--config", "configs/paper/qwen2.5-7b-instruct.yaml", "--model", shape, "--tokenizer", model("llama-135m"),
            "--steps", "2", "--threads", "2" if DRY else "8"]
    for s in sets:
        args += ["--set", s]
    steps, peak, wall = bench_runs_with_memory(*args, timeout=int(os.environ.get("SUITE_IAP_STEP_TIMEOUT", "540")))
    last = steps[-1]
    report = {"steps": steps, "wall_s": wall, "peak_gpu_mib_nvidia_smi": peak,
              "tokens_per_s": last["tokens_per_s"], "nemo_rl_tokens_per_s_per_gpu": last["nemo_rl_tokens_per_s_per_gpu"],
              "plan_peak_mib": last["plan_peak_mib"]}
    if peak:
        report["measured_over_plan"] = round(peak / last["plan_peak_mib"], 3)
    report["pass"] = len(steps) == 2 and last["learned_tokens"] > 0
    return report


def iap_config(path, encoder, judge):
    """The suite's IAP run: writes $WORK/suite-iap.yaml."""
    config = os.path.join(WORK, "suite-iap.yaml")
    with open(config, "w") as f:
        f.write(f"""run: {{name: gpu-suite, seed: 0, steps: 3, checkpoint_every: 1, log_rollouts: 2}}
policy: {{model: {path}, device: {DEVICE}, dtype: float32}}
data: {{folder: data/sample, split: train, input: narrative}}
rollout: {{group_size: 5, questions_per_step: 2, max_new_tokens: {16 if DRY else 64}, reference_max_new_tokens: {8 if DRY else 32}, max_batch_rows: 5,
          scaffold: tags, block_budgets: {[4, 4, 4, 4] if DRY else [8, 16, 8, 32]}}}
reward: {{similarity: rouge-l, similarity_model: {encoder}, malformed: "judged-minus:1.0", intent_token_limit: 1}}
judge: {{backend: local, model: {judge}, max_tokens: 16}}
optim: {{lr: 1.0e-5, micro_batch: 5, autocast: bfloat16}}
dapo: {{mask_truncated: false, dynamic_sampling: false}}
""")


DETERMINISTIC = ["--set", "run.deterministic=true"]


def iap_run(path, encoder, judge):
    """3 IAP steps on the device (local judge: a tiny random model), then 2 steps + resume to 3.
    The sampler writes the blocks' tags (`scaffold: tags`), so a random policy's replies are
    well-formed; with an intent budget of 1 token the length penalty spreads their rewards, and
    the update has a gradient. Every run has `run.deterministic: true`: without it CUDA's
    atomic adds made two uninterrupted runs differ (H200, 2026-11-28); with it the resumed
    and repeated runs must equal the first exactly."""
    iap_config(path, encoder, judge)
    config = os.path.join(WORK, "suite-iap.yaml")
    timeout = int(os.environ.get("SUITE_TRAIN_TIMEOUT", "240"))
    run_dir = os.path.join(WORK, "run")
    out, took = iap("train", "--config", config, "--run-dir", run_dir, *DETERMINISTIC, timeout=timeout)
    metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    report = {"seconds": round(took, 1), "stdout_tail": out[-1500:], "metrics": metrics}
    resumed = os.path.join(WORK, "resumed")
    iap("train", "--config", config, "--run-dir", resumed, "--set", "run.steps=2", *DETERMINISTIC, timeout=timeout)
    iap("train", "--resume", resumed, "--set", "run.steps=3", *DETERMINISTIC, timeout=timeout)
    again = [json.loads(l) for l in open(os.path.join(resumed, "metrics.jsonl"))]
    keys = ["reward/mean", "policy/loss", "policy/kl", "policy/entropy", "policy/grad_norm"]
    report["resume_step3"] = {k: [metrics[-1].get(k), again[-1].get(k)] for k in keys}
    report["resume_equal"] = all(a == b for a, b in report["resume_step3"].values())
    # The same run again, uninterrupted: tells CUDA's nondeterministic kernels (which make two
    # uninterrupted runs differ too) from state a resume fails to restore.
    repeat = os.path.join(WORK, "repeat")
    iap("train", "--config", config, "--run-dir", repeat, *DETERMINISTIC, timeout=timeout)
    twice = [json.loads(l) for l in open(os.path.join(repeat, "metrics.jsonl"))]
    report["repeat_by_step"] = [{k: [a.get(k), b.get(k)] for k in keys if a.get(k) != b.get(k)} for a, b in zip(metrics, twice)]
    report["repeat_equal"] = not any(report["repeat_by_step"])
    report["pass"] = report["resume_equal"] and report["repeat_equal"]
    return report


def ddp_run(path, encoder, judge):
    """Data parallel on the device: 2 steps by one process, then by 2 ranks
    (`--nproc-per-node 2`, both on the one GPU: `policy.device: cuda:0`, collectives through
    host memory over Gloo) with `dist.strategy` ddp, zero2 and fsdp, and by one rank of a
    torchrun-style job over NCCL (`dist.backend: nccl`, iap's plugin gpu/libiap_nccl.so: the
    lent machines have one GPU, and NCCL refuses two ranks on one), deterministic algorithms
    on; the metrics must agree (to 1e-6, times aside; zero2 and fsdp to 1e-4: their gradient
    norm is summed from shards in float64)."""
    iap_config(path, encoder, judge)
    config = os.path.join(WORK, "suite-iap.yaml")
    device = "cpu" if DRY else "cuda:0"
    runs = {}
    plans = [(1, "ddp"), (2, "ddp"), (2, "zero2"), (2, "fsdp")] + ([] if DRY else [(1, "nccl")])
    for ranks, strategy in plans:
        folder = os.path.join(WORK, f"ddp-{ranks}-{strategy}")
        extra = (["--nproc-per-node", str(ranks), "--oversubscribe"] if ranks > 1 else []) + ["--set", f"dist.strategy={'ddp' if strategy == 'nccl' else strategy}"]
        env = None
        if strategy == "nccl":  # one rank of a torchrun-style job: a process group of one
            extra += ["--set", "dist.backend=nccl"]
            env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29533", "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}
        _, took = iap("train", "--config", config, "--run-dir", folder, "--set", "run.steps=2", "--set", f"policy.device={device}", *extra, *DETERMINISTIC,
                      timeout=int(os.environ.get("SUITE_TRAIN_TIMEOUT", "240")), env=env)
        runs[(ranks, strategy)] = ([json.loads(l) for l in open(os.path.join(folder, "metrics.jsonl"))], round(took, 1))

    def differences(other, tolerance):
        return {f"step{a['step']}/{k}": [a[k], b.get(k)] for a, b in zip(runs[(1, "ddp")][0], runs[other][0]) for k in a
                if not k.startswith("time/") and isinstance(a[k], (int, float)) and abs(a[k] - (b.get(k) or 0)) > tolerance * max(1, abs(a[k]))}
    # zero2's gradient norm is summed from shards in float64 (one process: float32 per tensor).
    ddp, zero2, fsdp = differences((2, "ddp"), 1e-6), differences((2, "zero2"), 1e-4), differences((2, "fsdp"), 1e-4)
    nccl = {} if DRY else differences((1, "nccl"), 1e-6)
    return {"seconds_1_rank": runs[(1, "ddp")][1], "seconds_2_ranks": runs[(2, "ddp")][1], "seconds_2_ranks_zero2": runs[(2, "zero2")][1],
            "seconds_2_ranks_fsdp": runs[(2, "fsdp")][1], "seconds_1_rank_nccl": None if DRY else runs[(1, "nccl")][1],
            "differences": ddp, "differences_zero2": zero2, "differences_fsdp": fsdp, "differences_nccl": nccl,
            "grad_norm_step1": runs[(1, "ddp")][0][0].get("policy/grad_norm"), "pass": not ddp and not zero2 and not fsdp and not nccl}


def doctor():
    """`iap doctor` on the device: it exits 1 there because no model is in that machine's
    cache (nothing can be pulled without a network), which is not the suite's concern; the
    step passes when libtorch loaded and (on a GPU) CUDA is available."""
    p = subprocess.run([IAP, "doctor"], capture_output=True, text=True, timeout=60)
    ok = "libtorch: 2.11" in p.stdout and (DRY or "available: true" in p.stdout)
    return {"exit": p.returncode, "output": p.stdout[-2000:] + p.stderr[-500:], "pass": ok}


def wanted(name):
    """SUITE_STEPS=a,b runs only the steps whose names start with one of them (a rerun of what
    failed); unset, every step."""
    only = [x for x in os.environ.get("SUITE_STEPS", "").split(",") if x]
    return not only or any(name.startswith(x) for x in only)


if __name__ == "__main__":
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK, exist_ok=True)
    # Ordered by what a card has never run first; generation speed (measured before) last.
    plan = [("doctor", doctor),
            ("correctness/gemma3-270m", lambda: correctness(model("gemma3-270m"))),
            ("gemma3_12b_stop", gemma3_12b_stop),
            ("train_speed/qwen2-0.5b-bf16", lambda: train_speed(model("qwen2-0.5b"), "bfloat16", autocast=False)),
            ("train_speed/qwen2-1.5b-autocast", lambda: train_speed(model("qwen2-1.5b"), "float32", autocast=True)),
            ("iap_train/llama-135m", lambda: iap_run(model("llama-135m"), model("bert"), model("judge-tiny"))),
            ("ddp_train/llama-135m", lambda: ddp_run(model("llama-135m"), model("bert"), model("judge-tiny"))),
            ("lora_policy_step/qwen2-7b-slice", lambda: lora_policy_step(model("qwen2-7b-slice"))),
            ("paper_shape_update/qwen2.5-7b", paper_shape_update),
            ("paper_shape_iap_step/qwen2.5-7b", paper_shape_iap_step),
            ("rollouts/qwen2-0.5b", lambda: rollouts(model("qwen2-0.5b"))),
            ("correctness/llama-135m", lambda: correctness(model("llama-135m"))),
            ("correctness/qwen2-0.5b", lambda: correctness(model("qwen2-0.5b"))),
            ("generation_speed/qwen2-0.5b", lambda: generation_speed(model("qwen2-0.5b")))]
    for name, fn in plan:
        if wanted(name):
            step(name, fn)
    save()
    failed = [k for k, v in results.items() if isinstance(v, dict) and ("error" in v or v.get("pass") is False)]
    print("suite:", "failed steps: " + ", ".join(failed) if failed else "every step ran", flush=True)
