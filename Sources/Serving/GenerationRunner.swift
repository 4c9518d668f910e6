import ModelFormats
import Torch
import Transformers

/// One generation of a `GenerationQueue`, run on a thread of its own: it takes requests with
/// its settings from the inbox between decoding steps (a `GenerationRequest` whose prompts are a feed), streams
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
            var request = GenerationRequest(.feed(feed), options: settings, perPromptSeeds: true)
            request.maxRows = maxBatch * 4
            request.releasesFinished = true
            request.prefixes = prefixes
            let observer = GenerationObserver(
                text: { index, piece in admitted[index / samples].onText?(index % samples, piece) },
                finished: { prompt, completions in
                    answered[prompt] = true
                    running -= 1
                    inbox.answer(admitted[prompt], with: .success(completions))
                },
                abandoned: { admitted[$0].ticket.isCancelled || inbox.isStopping })
            _ = try model.generate(request, tokenizer: tokenizer, observer: observer)
        } catch {
            for (k, request) in admitted.enumerated() where !answered[k] { inbox.answer(request, with: .failure(error)) }
        }
    }
}
