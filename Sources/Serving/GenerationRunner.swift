import ModelFormats
import Torch
import Transformers

/// One generation of a `GenerationQueue`, run on a thread of its own: it takes requests with
/// its settings from the inbox between decoding steps (`CausalLM.generate(feed:)`), streams
/// their text, and answers each as soon as its completions end. It ends when no request is
/// running and none with its settings waits.
struct GenerationRunner: Sendable {
    let model: CausalLM
    let tokenizer: Tokenizer
    let inbox: RequestInbox
    let settings: GenerationOptions
    let maxBatch: Int
    let batching: Batching
    let prefixes: PromptPrefixCache?

    func run() {
        var admitted: [QueuedRequest] = []
        var answered: [Bool] = []
        var running = 0
        let inbox = inbox
        let feed = PromptFeed { free, idle in
            let taken = inbox.take(
                settings: settings, freeRows: free, idle: idle, running: running, maxRequests: maxBatch, batching: batching)
            admitted += taken
            answered += taken.map { _ in false }
            running += taken.count
            return taken.map { FedPrompt(ids: $0.prompt, seed: $0.options.seed, maxNewTokens: $0.options.maxNewTokens) }
        }
        let samples = settings.samplesPerPrompt
        do throws(TorchError) {
            _ = try model.generate(
                feed: feed, tokenizer: tokenizer, options: settings, perPromptSeeds: true, maxRows: maxBatch * 4,
                abandoned: AbandonCheck { admitted[$0].ticket.isCancelled || inbox.isStopping },
                onFinished: PromptFinished { prompt, completions in
                    answered[prompt] = true
                    running -= 1
                    inbox.answer(admitted[prompt], with: .success(completions))
                }, releasesFinished: true, prefixes: prefixes
            ) { index, piece in
                admitted[index / samples].onText?(index % samples, piece)
            }
        } catch {
            for (k, request) in admitted.enumerated() where !answered[k] { inbox.answer(request, with: .failure(error)) }
        }
    }
}
