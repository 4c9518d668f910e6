import Foundation
import Testing

/// `iap generate --prompt` reads special tokens written in the text, as transformers'
/// tokenizers and llama.cpp do (issue 15, item 6): a ChatML prompt pasted into --prompt
/// continues exactly like the same conversation given with --chat; --split-special-tokens
/// turns it off.
@Suite struct RawPromptTests: RunsIAP {
    @Test func aPastedChatPromptContinuesLikeTheChatFlag() throws {
        let system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        let raw = "<|im_start|>system\n\(system)<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n"
        let base = ["generate", "--greedy", "--max-tokens", "8", "--json"]
        let chat = try iap(base + ["--chat", "Name a colour."])
        let pasted = try iap(base + ["--prompt", raw])
        let split = try iap(base + ["--prompt", raw, "--split-special-tokens"])
        #expect(chat.status == 0 && pasted.status == 0 && split.status == 0, "\(chat.errors) \(pasted.errors) \(split.errors)")
        #expect(pasted.output == chat.output)
        #expect(split.output != chat.output)
    }
}
