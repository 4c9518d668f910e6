/// A Hugging Face Hub repository named the way the field names models: `org/name`, optionally
/// at a revision — `org/name@main`, `org/name@v1.0`, `org/name@<40-hex commit>`.
public struct HubRepository: Sendable, Hashable, CustomStringConvertible {
    /// Models and datasets live in separate namespaces of the Hub and of its cache.
    public enum Kind: String, Sendable {
        case model, dataset
    }

    /// `org/name`.
    public let id: String
    /// A branch, tag or commit; nil means `main`.
    public let revision: String?
    public let kind: Kind

    public init(id: String, revision: String? = nil, kind: Kind = .model) {
        self.id = id
        self.revision = revision
        self.kind = kind
    }

    /// The same repository at another revision.
    public func at(_ revision: String?) -> HubRepository { HubRepository(id: id, revision: revision, kind: kind) }

    /// `org/name` or `org/name@revision`, each part of letters, digits, `-`, `_`, `.` (not
    /// starting with `.` or `-`, no `..`); nil for anything else (a path, a catalog name).
    public init?(parsing text: String) {
        let (name, revision): (Substring, Substring?)
        if let at = text.firstIndex(of: "@") {
            (name, revision) = (text[..<at], text[text.index(after: at)...])
        } else {
            (name, revision) = (text[...], nil)
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy(Self.isValidPart) else { return nil }
        if let revision {
            guard !revision.isEmpty, revision.count <= 256,
                revision.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }),
                !revision.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
            else { return nil }
        }
        self.init(id: String(name), revision: revision.map(String.init))
    }

    private static func isValidPart(_ part: Substring) -> Bool {
        guard let first = part.first, first != ".", first != "-", part.count <= 96, !part.contains("..") else { return false }
        return part.unicodeScalars.allSatisfy {
            (("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0))
                || $0 == "-" || $0 == "_" || $0 == "."
        }
    }

    /// The revision asked for, `main` when none was.
    public var revisionOrMain: String { revision ?? "main" }

    /// Whether the revision is a full commit hash (resolved without a ref).
    public var revisionIsCommit: Bool {
        guard let revision, revision.count == 40 else { return false }
        return revision.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// The cache folder name huggingface_hub uses: `models--org--name`, `datasets--org--name`.
    public var cacheFolderName: String { "\(kind.rawValue)s--" + id.replacingSlashes(with: "--") }

    /// Path prefixes of the Hub's URLs: `api/models/org/name`, `api/datasets/org/name`; a
    /// model's page and files are at `org/name`, a dataset's at `datasets/org/name`.
    public var apiPath: String { "api/\(kind.rawValue)s/\(id)" }
    public var pagePath: String { kind == .model ? id : "datasets/\(id)" }

    public var description: String { revision.map { "\(id)@\($0)" } ?? id }
}

extension String {
    fileprivate func replacingSlashes(with separator: String) -> String {
        split(separator: "/", omittingEmptySubsequences: false).joined(separator: separator)
    }
}
