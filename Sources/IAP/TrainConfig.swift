import Foundation
import SafeTensors
import Yams

/// A configuration error naming the key.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Everything `iap train` is configured by, with defaults. Files are YAML with one mapping
/// per section (`run`, `policy`, `data`, `rollout`, `reward`, `judge`, `optim`, `dapo`);
/// `--set section.key=value` overrides single keys. Unknown sections or keys, and values of
/// the wrong type, are errors naming the key.
public struct TrainConfig: Sendable {
    /// (section, key, default). The default's type is the key's type; `nil` defaults are
    /// optional values of the type given in `optionalTypes`.
    public static let schema: [(String, String, ConfigValue)] = [
        ("run", "name", .string("iap")), ("run", "seed", .int(0)), ("run", "steps", .int(12)),
        ("run", "checkpoint_every", .int(4)), ("run", "keep_checkpoints", .int(2)), ("run", "log_rollouts", .int(10)),
        ("policy", "model", .string("smollm2-135m-instruct")), ("policy", "dtype", .string("float32")),
        ("policy", "device", .string("cpu")), ("policy", "gradient_checkpointing", .bool(false)),
        ("policy", "chat_template", .none(.string)),
        ("data", "folder", .string("data/sample")), ("data", "split", .string("train")),
        ("data", "domains", .list(["art", "lifestyle", "society"])), ("data", "input", .string("narrative")),
        ("data", "limit", .none(.int)),
        ("rollout", "group_size", .int(5)), ("rollout", "questions_per_step", .int(4)), ("rollout", "temperature", .double(1.0)),
        ("rollout", "top_p", .double(1.0)), ("rollout", "max_new_tokens", .int(192)), ("rollout", "prompt_file", .none(.string)),
        ("rollout", "reference_max_new_tokens", .int(160)), ("rollout", "prefill", .string("")),
        ("reward", "lambda_pers", .double(1.0)), ("reward", "lambda_contrast", .double(0.1)), ("reward", "lambda_length", .double(0.01)),
        ("reward", "similarity_weight", .double(1.0)), ("reward", "intent_token_limit", .int(400)),
        ("reward", "similarity", .string("bertscore")), ("reward", "similarity_model", .string("all-minilm-l6-v2")), ("reward", "similarity_layer", .none(.int)),
        ("reward", "idf", .bool(false)), ("reward", "malformed", .string("-1")), ("reward", "overlong_max", .none(.int)),
        ("reward", "overlong_buffer", .int(0)),
        ("judge", "backend", .string("embedding")), ("judge", "model", .none(.string)), ("judge", "urls", .list([])),
        ("judge", "api_key_env", .none(.string)), ("judge", "concurrency", .int(16)), ("judge", "retry_rounds", .int(3)),
        ("judge", "max_tokens", .int(256)), ("judge", "prompt_file", .none(.string)),
        ("optim", "lr", .double(1e-5)), ("optim", "warmup_ratio", .double(0.285)), ("optim", "schedule", .string("constant")),
        ("optim", "weight_decay", .double(0.0)), ("optim", "beta1", .double(0.9)), ("optim", "beta2", .double(0.999)),
        ("optim", "max_grad_norm", .double(1.0)), ("optim", "updates_per_batch", .int(1)), ("optim", "micro_batch", .int(4)),
        ("optim", "share_prompt", .bool(true)), ("optim", "master_weights", .bool(true)),
        ("dapo", "clip_low", .double(0.2)), ("dapo", "clip_high", .double(0.28)), ("dapo", "dual_clip", .none(.double)),
        ("dapo", "kl_coef", .double(0.001)), ("dapo", "aggregation", .string("token-mean")),
        ("dapo", "advantage_scaling", .string("group")), ("dapo", "advantage_eps", .double(1e-6)),
        ("dapo", "dynamic_sampling", .bool(true)), ("dapo", "max_extra_rounds", .int(2)), ("dapo", "mask_truncated", .bool(true)),
        // iap sft: best-of-N silver labels, then cross-entropy on the labels' reply tokens.
        ("sft", "samples", .int(5)), ("sft", "method", .string("direct")), ("sft", "temperature", .double(1.0)),
        ("sft", "top_p", .double(1.0)), ("sft", "max_new_tokens", .int(192)), ("sft", "epochs", .int(2)), ("sft", "batch_size", .int(8)),
    ]

    public private(set) var values: [String: ConfigValue]

    public init() {
        values = Dictionary(uniqueKeysWithValues: TrainConfig.schema.map { ("\($0.0).\($0.1)", $0.2) })
    }

    /// Reads a config file over the current values.
    public mutating func apply(file path: String) throws(ConfigError) {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw ConfigError("\(error)") }
        try apply(yaml: String(decoding: bytes, as: UTF8.self), source: path)
    }

    /// Reads a YAML file's text over the current values. A top-level `base: FILE` (relative
    /// to this file's folder) is applied first, so a variant names only what it changes
    /// (configs/ablations/).
    public mutating func apply(yaml text: String, source: String, depth: Int = 0) throws(ConfigError) {
        let document: Any?
        do { document = try Yams.load(yaml: text) } catch { throw ConfigError("\(source): not valid YAML: \(error)") }
        guard let document else { return }
        guard var sections = document as? [String: Any] else { throw ConfigError("\(source): expected a mapping of sections") }
        if let base = sections.removeValue(forKey: "base") {
            guard let name = base as? String else { throw ConfigError("\(source): base: expected a file name") }
            guard depth < 8 else { throw ConfigError("\(source): base: more than 8 levels (a loop?)") }
            let folder = source.lastIndex(of: "/").map { String(source[..<$0]) + "/" } ?? ""
            let path = name.hasPrefix("/") ? name : folder + name
            let bytes: [UInt8]
            do { bytes = try AtomicFile.read(path) } catch { throw ConfigError("\(source): base: \(error)") }
            try apply(yaml: String(decoding: bytes, as: UTF8.self), source: path, depth: depth + 1)
        }
        for (section, body) in sections {
            guard TrainConfig.schema.contains(where: { $0.0 == section }) else {
                throw ConfigError("\(source): unknown section '\(section)' (known: \(Array(Set(TrainConfig.schema.map(\.0))).sorted().joined(separator: ", ")))")
            }
            guard let keys = body as? [String: Any] else { throw ConfigError("\(source): section '\(section)' must be a mapping") }
            for (key, raw) in keys { try set("\(section).\(key)", raw: raw, source: source) }
        }
    }

    /// `section.key=value`, the value read as YAML.
    public mutating func apply(override text: String) throws(ConfigError) {
        guard let eq = text.firstIndex(of: "=") else { throw ConfigError("--set \(text): expected section.key=value") }
        let key = String(text[..<eq])
        let valueText = String(text[text.index(after: eq)...])
        let raw: Any?
        do { raw = try Yams.load(yaml: valueText) } catch { throw ConfigError("--set \(key): the value is not valid YAML") }
        try set(key, raw: raw as Any, source: "--set")
    }

    mutating func set(_ key: String, raw: Any, source: String) throws(ConfigError) {
        guard let current = values[key] else {
            let section = key.split(separator: ".").first.map(String.init) ?? key
            let known = TrainConfig.schema.filter { $0.0 == section }.map(\.1).joined(separator: ", ")
            throw ConfigError("\(source): unknown key '\(key)'" + (known.isEmpty ? "" : " (\(section) has: \(known))"))
        }
        let optional = TrainConfig.schema.first { "\($0.0).\($0.1)" == key }?.2.isOptional ?? false
        values[key] = try current.converting(raw, key: "\(source): \(key)", optional: optional)
    }

    // Typed accessors (the schema guarantees the types).
    public func int(_ key: String) -> Int { if case .int(let v) = values[key] { v } else { 0 } }
    public func double(_ key: String) -> Double { if case .double(let v) = values[key] { v } else { 0 } }
    public func bool(_ key: String) -> Bool { if case .bool(let v) = values[key] { v } else { false } }
    public func string(_ key: String) -> String { if case .string(let v) = values[key] { v } else { "" } }
    public func list(_ key: String) -> [String] { if case .list(let v) = values[key] { v } else { [] } }
    public func optionalInt(_ key: String) -> Int? { if case .int(let v) = values[key] { v } else { nil } }
    public func optionalDouble(_ key: String) -> Double? { if case .double(let v) = values[key] { v } else { nil } }
    public func optionalString(_ key: String) -> String? { if case .string(let v) = values[key] { v } else { nil } }

    /// The effective configuration as YAML (written into the run folder).
    public var yaml: String {
        var out = ""
        var section = ""
        for (s, k, _) in TrainConfig.schema {
            if s != section {
                out += "\(s):\n"
                section = s
            }
            out += "  \(k): \(values["\(s).\(k)"]!.yaml)\n"
        }
        return out
    }
}

/// A typed configuration value.
public enum ConfigValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case int, double, bool, string }
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case list([String])
    /// An unset optional value of the given kind.
    case none(Kind)

    var kind: Kind? {
        switch self {
        case .int: .int
        case .double: .double
        case .bool: .bool
        case .string: .string
        case .list: nil
        case .none(let k): k
        }
    }

    var isOptional: Bool { if case .none = self { true } else { false } }

    func converting(_ raw: Any, key: String, optional: Bool) throws(ConfigError) -> ConfigValue {
        if raw is NSNull {
            if let k = kind, optional { return .none(k) }
            throw ConfigError("\(key): may not be null")
        }
        if case .list = self {
            if let items = raw as? [Any] { return .list(items.map { "\($0)" }) }
            if let one = raw as? String { return .list([one]) }
            throw ConfigError("\(key): expected a list")
        }
        switch kind {
        case .int:
            if let i = raw as? Int { return .int(i) }
            throw ConfigError("\(key): expected an integer, got \(raw)")
        case .double:
            if let d = raw as? Double { return .double(d) }
            if let i = raw as? Int { return .double(Double(i)) }
            throw ConfigError("\(key): expected a number, got \(raw)")
        case .bool:
            if let b = raw as? Bool { return .bool(b) }
            throw ConfigError("\(key): expected true or false, got \(raw)")
        case .string:
            if let s = raw as? String { return .string(s) }
            if let i = raw as? Int { return .string(String(i)) }
            if let d = raw as? Double { return .string(String(d)) }
            throw ConfigError("\(key): expected text, got \(raw)")
        case nil: throw ConfigError("\(key): unsupported value")
        }
    }

    var yaml: String {
        switch self {
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .bool(let b): b ? "true" : "false"
        case .string(let s): "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
        case .list(let items): "[" + items.map { ConfigValue.string($0).yaml }.joined(separator: ", ") + "]"
        case .none: "null"
        }
    }
}
