import Torch

/// What one `generate` call makes, as vLLM's prompts + `SamplingParams` or mlx-swift-lm's
/// input + `GenerateParameters`: the prompts, the sampling, stop rules and scaffold
/// (`options`), how many rows decode at once and how waiting prompts join them (the
/// scheduler: `batching`), and a prefix cache shared across calls.
public struct GenerationRequest {
    /// Where the prompts come from.
    public enum Prompts {
        /// Prompts known up front (ids, seed, token limit each), handed to free rows in order
        /// as the scheduler (`batching`) lets them join.
        case list([FedPrompt])
        /// Prompts that arrive while the call runs (a server's queue): asked before every
        /// decoding step with the free rows; its own rule says when they join.
        case feed(PromptFeed)
    }

    public var prompts: Prompts
    public var options: GenerationOptions
    /// Each prompt samples from its own `FedPrompt.seed` (as it would alone); otherwise one
    /// generator seeded by `options.seed` serves the call.
    public var perPromptSeeds = false
    /// At most this many sequences decode at once (prompts wait for rows).
    public var maxRows = Int.max
    /// The scheduler of a list: `.continuous` lets a waiting prompt join as soon as its
    /// samples' rows are free, `.static` only once the whole batch has finished.
    public var batching = Batching.continuous
    /// Keys and values remembered across prefills (and calls): a prompt sharing a prefix with
    /// one prefilled before prefills only the rest.
    public var prefixes: PromptPrefixCache?
    /// A prompt's completions are dropped once the observer's `finished` has them (a server's
    /// generation may run for days); the returned array then holds empty ones.
    public var releasesFinished = false

    /// Prompts known up front; `seeds` (one per prompt) makes each prompt sample as it would
    /// alone, instead of all drawing from `options.seed`.
    public init(prompts: [[Int]], seeds: [UInt64]? = nil, options: GenerationOptions) {
        self.prompts = .list(
            prompts.indices.map { i in FedPrompt(ids: prompts[i], seed: seeds.flatMap { i < $0.count ? $0[i] : nil } ?? 0) })
        self.options = options
        perPromptSeeds = seeds != nil
        seedCount = seeds?.count
    }

    /// How many seeds `init(prompts:seeds:options:)` was given (checked against the prompts).
    var seedCount: Int?

    /// Prompts handed over one by one (a list with a token limit per prompt, or a feed).
    public init(_ prompts: Prompts, options: GenerationOptions, perPromptSeeds: Bool) {
        self.prompts = prompts
        self.options = options
        self.perPromptSeeds = perPromptSeeds
    }

    /// The feed the decoding loop asks: the list's, under the request's scheduler.
    var feed: PromptFeed {
        switch prompts {
        case .list(let list): PromptFeed.queue(list, samples: options.samplesPerPrompt, batching: batching)
        case .feed(let feed): feed
        }
    }
}

/// Hears a generation as it runs; every part is optional.
public struct GenerationObserver {
    /// Each completion's text as it grows: (prompt · samplesPerPrompt + sample, new piece).
    public var text: ((Int, String) -> Void)?
    /// A prompt's completions, as its last one ends (a caller answers that prompt while the
    /// others go on).
    public var finished: ((_ prompt: Int, _ completions: [GeneratedSequence]) -> Void)?
    /// Asked every decoding step: whether nobody waits for a prompt's completions any more
    /// (a server whose client went away); they end with finish reason `abandoned`.
    public var abandoned: ((_ prompt: Int) -> Bool)?

    public init(
        text: ((Int, String) -> Void)? = nil, finished: ((_ prompt: Int, _ completions: [GeneratedSequence]) -> Void)? = nil,
        abandoned: ((_ prompt: Int) -> Bool)? = nil
    ) {
        self.text = text
        self.finished = finished
        self.abandoned = abandoned
    }
}
