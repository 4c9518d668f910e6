import IAPCore
import JSONFiles

/// One JSON line per measurement (what the benchmark scripts parse); `bench` names it.
enum BenchResult {
    struct Matmul: Encodable {
        var bench = "matmul_f32"
        var size: Int
        var threads: Int
        var gflops: Double
    }

    struct SmallAdd: Encodable {
        var bench = "add_8_f32"
        var threads = 1
        var usPerOp: Double
        enum CodingKeys: String, CodingKey { case bench, threads, usPerOp = "us_per_op" }
    }

    struct GGUFDequantize: Encodable {
        var bench = "gguf_dequantize"
        var tensors: Int
        var values: Int
        var openS: Double
        var totalS: Double
        var peakRSSMB: Int
        enum CodingKeys: String, CodingKey { case bench, tensors, values, openS = "open_s", totalS = "total_s", peakRSSMB = "peak_rss_mb" }
    }

    struct Tokenize: Encodable {
        var bench = "tokenize"
        var model: String
        var paragraphs: Int
        var megabytes: Double
        var tokens: Int
        var firstRoundS: Double
        var bestS: Double
        var mbPerS: Double
        var tokensPerS: Int
        var referenceTokens: Int?
        var idsIdentical: Bool?
        enum CodingKeys: String, CodingKey {
            case bench, model, paragraphs, megabytes, tokens, firstRoundS = "first_round_s", bestS = "best_s", mbPerS = "mb_per_s"
            case tokensPerS = "tokens_per_s", referenceTokens = "reference_tokens", idsIdentical = "ids_identical"
        }
    }

    struct Generate: Encodable {
        var bench = "generate"
        var batch: Int
        var newTokens: Int
        var promptTokens: Int
        var threads: Int
        var dtype: String
        var device: String
        /// eager, static or cuda-graphs.
        var decodeSteps: String
        /// Sequences whose tokens equal those of the first mode measured (nil for the first).
        var sequencesAsFirst: Int?
        var tokens: Int
        var seconds: Double
        var tokensPerS: Double
        /// The batch's KV cache at its longest while decoding (sliding-window layers: as kept).
        var decodeKVCacheMiB: Double
        enum CodingKeys: String, CodingKey {
            case bench, batch, newTokens = "new_tokens", promptTokens = "prompt_tokens", threads, dtype, device, tokens, seconds
            case decodeSteps = "decode_steps", sequencesAsFirst = "sequences_as_first"
            case tokensPerS = "tokens_per_s", decodeKVCacheMiB = "decode_kv_cache_mib"
        }
    }

    struct TrainStep: Encodable {
        var bench = "train_step"
        var batch: Int
        var length: Int
        var threads: Int
        var dtype: String
        var autocast: String
        var device: String
        var checkpointing: Bool
        var keptLogitsMiB: Int
        var bestStepS: Double
        var tokensPerS: Double
        var peakRSSMB: Int
        enum CodingKeys: String, CodingKey {
            case bench, batch, length, threads, dtype, autocast, device, checkpointing, keptLogitsMiB = "kept_logits_mib", bestStepS =
                "best_step_s"
            case tokensPerS = "tokens_per_s", peakRSSMB = "peak_rss_mb"
        }
    }

    struct PolicyStep: Encodable {
        var bench = "policy_step"
        var batch, length, threads, loraR, trainedParameters: Int
        var bestStepS: Double
        var tokensPerS: Double
        var peakRSSMB: Int
        enum CodingKeys: String, CodingKey {
            case bench, batch, length, threads, loraR = "lora_r", trainedParameters = "trained_parameters", bestStepS = "best_step_s"
            case tokensPerS = "tokens_per_s", peakRSSMB = "peak_rss_mb"
        }
    }

    struct NormPrecision: Encodable {
        var bench = "grad_norm_precision"
        var float32PerTensor: Double
        var float64: Double
        var relativeError: Double
        enum CodingKeys: String, CodingKey {
            case bench, float32PerTensor = "float32_per_tensor", float64, relativeError = "relative_error"
        }
    }

    struct Zero2: Encodable {
        var bench = "zero2_state_per_rank"
        var strategy: String
        var ranks: Int
        var stateMiB: Double
        var parametersAndStateMiB: Double
        var stepS: Double
        var maxAbsDiff: Double
        enum CodingKeys: String, CodingKey {
            case bench, strategy, ranks, stateMiB = "optimizer_state_mib", parametersAndStateMiB = "parameters_and_state_mib", stepS =
                "step_s"
            case maxAbsDiff = "max_abs_diff_vs_adamw"
        }
    }

    struct Rollouts: Encodable {
        var bench = "rollouts"
        var batching: String
        var decodeSteps: String
        var groups, groupSize, maxRows, minTokens, maxTokens, threads: Int
        var device: String
        var tokens: Int
        var seconds: Double
        var tokensPerS: Double
        enum CodingKeys: String, CodingKey {
            case bench, batching, decodeSteps = "decode_steps", groups, groupSize = "group_size", maxRows = "max_rows", minTokens =
                "min_tokens", maxTokens = "max_tokens"
            case threads, device, tokens, seconds, tokensPerS = "tokens_per_s"
        }
    }

    struct TrainStepGroup: Encodable {
        var bench = "train_step_group"
        var group: Int
        var prompt: Int
        var continuation: Int
        var threads: Int
        var dtype: String
        var checkpointing: Bool
        var plainStepS: Double
        var sharedStepS: Double
        var speedup: Double
        enum CodingKeys: String, CodingKey {
            case bench, group, prompt, continuation, threads, dtype, checkpointing, plainStepS = "plain_step_s"
            case sharedStepS = "shared_step_s", speedup
        }
    }

    struct JudgeClient: Encodable {
        var bench = "judge_client"
        var calls: Int
        var scored: Int
        var configuredConcurrency: Int
        var achievedConcurrency: Double
        var fraction: Double
        var callsPerS: Double
        var wallS: Double
        var cpuS: Double
        var cpuMsPerCall: Double
        enum CodingKeys: String, CodingKey {
            case bench, calls, scored, configuredConcurrency = "configured_concurrency", achievedConcurrency = "achieved_concurrency"
            case fraction, callsPerS = "calls_per_s", wallS = "wall_s", cpuS = "cpu_s", cpuMsPerCall = "cpu_ms_per_call"
        }
    }

    struct ServeAbandon: Encodable {
        var bench = "serve_abandon"
        var largeN: Int
        var largeMaxTokens: Int
        var staySeconds: Double
        var smallAloneS: Double
        var smallBehindAbandonedS: Double
        var threads: Int
        enum CodingKeys: String, CodingKey {
            case bench, largeN = "large_n", largeMaxTokens = "large_max_tokens", staySeconds = "stay_s", smallAloneS = "small_alone_s"
            case smallBehindAbandonedS = "small_behind_abandoned_s", threads
        }
    }

    struct Serve: Encodable {
        var bench = "serve"
        var clients: Int
        var requests: Int
        var maxTokens: Int
        var threads: Int
        var seeds: String
        var batching: String
        var prompts: String
        var prefixCache: Bool
        /// The chunked prefill budget (nil: prompts prefill whole).
        var prefillChunk: Int?
        /// Prompt tokens whose prefill the prefix cache saved.
        var tokensReused: Int
        var seconds: Double
        var requestsPerS: Double
        var tokensPerS: Double
        enum CodingKeys: String, CodingKey {
            case bench, clients, requests, maxTokens = "max_tokens", threads, seeds, batching, prompts, prefixCache = "prefix_cache",
                tokensReused = "tokens_reused", seconds, requestsPerS = "requests_per_s"
            case tokensPerS = "tokens_per_s", prefillChunk = "prefill_chunk"
        }
    }

    /// One whole IAP step (`iap-bench iap-step`).
    struct IAPStep: Encodable {
        var bench = "iap_step"
        var step: Int
        var model: String
        var device: String
        var seconds: Double
        /// Seconds of each phase: generation, reference, judge, similarity, update.
        var phases: [String: Double]
        var rollouts: Int
        /// Groups the update learned from, and their tokens (0: no update happened — every group
        /// had one reward, or every rollout was truncated under dapo.mask_truncated).
        var groupsKept: Int
        var learnedTokens: Int
        var promptTokensMean: Double
        var responseTokensMean: Double
        /// Prompt and generated tokens of the step's rollouts per second (NeMo-RL's measure).
        var tokensPerS: Double
        /// NeMo-RL's GRPO on Llama-3.1-8B, on-policy, per H100 — the field's anchor.
        var nemoRLTokensPerSPerGPU = 1562.0
        var generatedTokensPerSInGeneration: Double
        var peakRSSMB: Int
        var planPeakMiB: Int
        var planRolloutPeakMiB: Int
        var planUpdatePeakMiB: Int
        /// Peak resident memory over the plan's peak (meaningful on the CPU: on a GPU the
        /// device memory is what the plan predicts; the suite reads it from nvidia-smi).
        var rssOverPlan: Double
        enum CodingKeys: String, CodingKey {
            case bench, step, model, device, seconds, phases, rollouts, groupsKept = "groups_kept", learnedTokens = "learned_tokens"
            case promptTokensMean = "prompt_tokens_mean"
            case responseTokensMean = "response_tokens_mean", tokensPerS = "tokens_per_s", nemoRLTokensPerSPerGPU =
                "nemo_rl_tokens_per_s_per_gpu"
            case generatedTokensPerSInGeneration = "generated_tokens_per_s_in_generation", peakRSSMB = "peak_rss_mb"
            case planPeakMiB = "plan_peak_mib", planRolloutPeakMiB = "plan_rollout_peak_mib", planUpdatePeakMiB = "plan_update_peak_mib"
            case rssOverPlan = "rss_over_plan"
        }

        init(
            step: Int, line: MetricsLine, seconds: Double, config: TrainConfig, promptTokensMean: Double, plan: MemoryPlan, peakRSSMB: Int,
            device: String
        ) {
            self.step = step
            self.model = config.policy.model
            self.device = device
            self.seconds = rounded(seconds, 3)
            let names = ["generation", "reference", "judge", "similarity", "update"]
            phases = Dictionary(uniqueKeysWithValues: names.map { ($0, rounded(line["time/\($0)"] ?? 0, 3)) })
            let rounds = Int(line["dapo/sampling_rounds"] ?? 1)
            rollouts = rounds * config.rollout.questionsPerStep * config.rollout.groupSize
            groupsKept = Int(line["dapo/groups_kept"] ?? 0)
            learnedTokens = Int(line["update/learned_tokens"] ?? 0)
            self.promptTokensMean = rounded(promptTokensMean, 1)
            responseTokensMean = rounded(line["response/tokens"] ?? 0, 1)
            let generated = Double(rollouts) * (line["response/tokens"] ?? 0)
            tokensPerS = rounded((Double(rollouts) * promptTokensMean + generated) / seconds, 1)
            generatedTokensPerSInGeneration = rounded(generated / max(line["time/generation"] ?? 0, 1e-9), 1)
            self.peakRSSMB = peakRSSMB
            planPeakMiB = plan.peakBytes >> 20
            planRolloutPeakMiB = plan.rolloutPeakBytes >> 20
            planUpdatePeakMiB = plan.updatePeakBytes >> 20
            rssOverPlan = rounded(Double(peakRSSMB) / Double(max(1, plan.peakBytes >> 20)), 3)
        }
    }

    struct ServePrefill: Encodable {
        var bench = "serve_prefill"
        var prefillChunk: Int?
        var running: Int
        var longRequests: Int
        var longPromptTokens: Int
        var threads: Int
        /// The running streams' median gap between tokens before the long prompts came.
        var gapBeforeMedianS: Double
        /// Their longest gap while the long prompts were prefilled (the stall).
        var gapWhileJoiningMaxS: Double
        /// Time to first token of a short streamed request sent just after the long ones.
        var shortFirstTokenS: Double
        /// Until every long request was answered (8 tokens each).
        var longAnsweredS: Double
        enum CodingKeys: String, CodingKey {
            case bench, prefillChunk = "prefill_chunk", running, longRequests = "long_requests", longPromptTokens = "long_prompt_tokens"
            case threads, gapBeforeMedianS = "gap_before_median_s", gapWhileJoiningMaxS = "gap_while_joining_max_s"
            case shortFirstTokenS = "short_first_token_s", longAnsweredS = "long_answered_s"
        }
    }

    /// Prints one result as a JSON line.
    static func print(_ value: some Encodable) {
        Swift.print((try? JSONFile.encode(value)) ?? #"{"bench":"(unencodable)"}"#)
    }
}

/// `x` rounded to `digits` decimals (figures are printed, not computed with).
func rounded(_ x: Double, _ digits: Int = 1) -> Double {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return (x * scale).rounded() / scale
}

func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}
