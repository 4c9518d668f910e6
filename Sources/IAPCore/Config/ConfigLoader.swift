import FileIO
import Foundation
import Yams

/// Reads a `TrainConfig`: the struct defaults, then a YAML file (after the files its `base:`
/// chain names, each relative to the file that names it), then `--set section.key=value`
/// overrides (the value read as YAML), then range checks. Every error names the file or
/// `--set`, the key, and what is wrong; an unknown key names the closest known one.
public enum ConfigLoader {
    public static func load(file: String?, overrides: [String] = []) throws(ConfigError) -> TrainConfig {
        var tree = Node.emptyMapping
        if let file { tree = try resolvedTree(file: file, depth: 0) }
        for text in overrides { tree = try apply(override: text, to: tree) }
        let config = try decode(tree, source: file ?? "the defaults")
        try config.validate()
        return config
    }

    /// A YAML document's text (tests; `source` names it in errors).
    public static func load(yaml: String, source: String) throws(ConfigError) -> TrainConfig {
        let tree = try resolvedTree(try parse(yaml, source: source), source: source, depth: 0)
        let config = try decode(tree, source: source)
        try config.validate()
        return config
    }

    /// The effective configuration as YAML: every key in each section's order, unset
    /// optional ones as `null`.
    public static func yaml(_ config: TrainConfig) -> String {
        do {
            let encoded = try Yams.compose(yaml: try YAMLEncoder().encode(config)) ?? Node.emptyMapping
            var sections: [(Node, Node)] = []
            for section in TrainConfig.sectionNames {
                let keys = TrainConfig.allKeys.filter { $0.hasPrefix(section + ".") }.map { String($0.dropFirst(section.count + 1)) }
                let values = keys.map { (Node($0), readable(encoded.value(at: [section, $0])) ?? Node("null", Tag(.null))) }
                sections.append((Node(section), .mapping(.init(values))))
            }
            return try Yams.serialize(node: .mapping(.init(sections)))
        } catch {
            return "# the configuration could not be written as YAML: \(error)\n"
        }
    }

    /// Numbers as Swift writes them (`1.0`, `2e-05`) rather than the encoder's `1e+0`.
    static func readable(_ node: Node?) -> Node? {
        guard case .scalar(let scalar)? = node, scalar.style == .plain, Int(scalar.string) == nil, let value = Double(scalar.string) else {
            return node
        }
        return Node(String(value))
    }

    // MARK: Trees

    /// Far beyond any real configuration (a few dozen keys), far below what hurts.
    static let maxBytes = 1 << 20
    static let maxNodes = 100_000

    static func parse(_ text: String, source: String) throws(ConfigError) -> Node {
        guard text.utf8.count <= maxBytes else {
            throw ConfigError("\(source): \(text.utf8.count) bytes; a configuration file is at most 1 MiB")
        }
        let node = try composed(text, source: source)
        guard let node else {
            throw ConfigError("\(source): the file is empty (give at least one section, or no --config for the defaults)")
        }
        guard case .mapping = node else { throw ConfigError("\(source): expected a mapping of sections (run:, policy:, …)") }
        return node
    }

    /// The YAML tree of a file or a `--set` value, refused when it nests deeper than
    /// `YAMLNesting.maxDepth` (checked on the text first: parsing it would overflow the stack)
    /// or expands past `maxNodes`.
    static func composed(_ text: String, source: String) throws(ConfigError) -> Node? {
        let nesting = "nests deeper than \(YAMLNesting.maxDepth) levels; a configuration needs 3 (section, key, list)"
        guard YAMLNesting.estimate(text[...]) <= YAMLNesting.maxDepth else { throw ConfigError("\(source): the YAML " + nesting) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ConfigError("\(source): not valid YAML: \(error)") }
        guard let node else { return nil }
        guard node.hasAtMost(maxNodes) else {
            throw ConfigError("\(source): expands to more than \(maxNodes) values (YAML aliases repeated inside each other?); refusing it")
        }
        guard node.nestsAtMost(YAMLNesting.maxDepth) else { throw ConfigError("\(source): with its aliases expanded, the YAML " + nesting) }
        return node
    }

    static func resolvedTree(file: String, depth: Int) throws(ConfigError) -> Node {
        let text: String
        do { text = try AtomicFile.readText(file) } catch { throw ConfigError("\(file): \(error.reason)") }
        return try resolvedTree(try parse(text, source: file), source: file, depth: depth)
    }

    /// The file's own tree over its `base:` chain; each file is checked on its own first so
    /// that an error names the file that holds the bad key.
    static func resolvedTree(_ tree: Node, source: String, depth: Int) throws(ConfigError) -> Node {
        var own = tree
        var base = Node.emptyMapping
        if let name = own.removeKey("base") {
            guard let relative = name.string, !relative.isEmpty else { throw ConfigError("\(source): base: expected a file name") }
            guard depth < 8 else { throw ConfigError("\(source): base: more than 8 levels (a loop?)") }
            let folder = source.lastIndex(of: "/").map { String(source[..<$0]) + "/" } ?? ""
            base = try resolvedTree(file: relative.hasPrefix("/") ? relative : folder + relative, depth: depth + 1)
        }
        _ = try decode(own, source: source)
        return base.merging(own)
    }

    static func apply(override text: String, to tree: Node) throws(ConfigError) -> Node {
        guard let eq = text.firstIndex(of: "=") else { throw ConfigError("--set \(text): expected section.key=value") }
        let path = text[..<eq].split(separator: ".").map(String.init)
        guard path.count == 2 else { throw ConfigError("--set \(text): the key must be section.key (e.g. optim.lr=2e-5)") }
        let value = try composed(String(text[text.index(after: eq)...]), source: "--set \(path.joined(separator: "."))")
        let patch = Node.mapping(
            Node.Mapping([(Node(path[0]), Node.mapping(Node.Mapping([(Node(path[1]), value ?? Node("null", Tag(.null)))])))]))
        _ = try decode(patch, source: "--set")
        return tree.merging(patch)
    }

    // MARK: Decoding

    static func decode(_ tree: Node, source: String) throws(ConfigError) -> TrainConfig {
        let text: String
        do { text = try Yams.serialize(node: tree) } catch { throw ConfigError("\(source): \(error)") }
        do {
            return try YAMLDecoder().decode(TrainConfig.self, from: text)
        } catch {
            throw ConfigError("\(source): " + describe(error, tree: tree))
        }
    }

    /// A decoding failure in the words of the file: which key, what was expected, what is there.
    static func describe(_ error: any Error, tree: Node) -> String {
        var error = error
        if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError { error = underlying }
        switch error {
        case let unknown as UnknownConfigKey:
            let key = unknown.path.joined(separator: ".")
            let what = unknown.path.count == 1 ? "unknown section '\(key)'" : "unknown key '\(key)'"
            return what
                + (KeySuggestion.closest(to: key, among: unknown.path.count == 1 ? TrainConfig.sectionNames : TrainConfig.allKeys).map {
                    " (did you mean '\($0)'?)"
                } ?? "")
        case let choice as InvalidConfigChoice:
            return "\(choice.path.joined(separator: ".")): '\(choice.value)' is not one of \(choice.allowed.joined(separator: ", "))"
        case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
            let path = context.codingPath.map(\.stringValue)
            let found = tree.value(at: path).map(describe) ?? "nothing"
            return "\(path.joined(separator: ".")): expected \(expectation(at: path, type: type)), got \(found)"
        case DecodingError.dataCorrupted(let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    /// What a key holds, read off the defaults (the decoder may only know it wanted a scalar).
    static func expectation(at path: [String], type: Any.Type) -> String {
        let defaults = try? Yams.compose(yaml: YAMLEncoder().encode(TrainConfig()))
        switch defaults.flatMap({ $0.value(at: path) }) {
        case .scalar(let scalar)?:
            if Int(scalar.string) != nil { return "an integer" }
            if Double(scalar.string) != nil { return "a number" }
            return ["true", "false"].contains(scalar.string) ? "true or false" : "text"
        case .sequence?: return "a list"
        case .mapping?: return "a mapping"
        case nil:
            let name = "\(type)"
            return name.contains("Int") ? "an integer" : name.contains("Double") ? "a number" : name.contains("String") ? "text" : "a value"
        }
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

extension TrainConfig {
    static let sectionNames = CodingKeys.allCases.map(\.stringValue)
}
