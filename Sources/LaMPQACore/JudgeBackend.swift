/// Where the rubric judge runs (`judge.backend` in a training config, `--judge` on the
/// commands that score answers).
public enum JudgeBackend: String, CaseIterable, Sendable {
    /// Sentence-embedding similarity: a CPU proxy, not the benchmark's judge.
    case embedding
    /// A causal LM in process.
    case local
    /// Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, `iap serve`).
    case openai
}
