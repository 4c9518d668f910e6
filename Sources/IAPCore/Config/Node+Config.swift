import Yams

/// The few tree operations configuration files need: look a key up, take `base:` out,
/// lay one file over another.
extension Node {
    static var emptyMapping: Node { .mapping(Node.Mapping([])) }

    /// Whether the tree holds at most `limit` nodes, an alias counting again each time it is
    /// used; counting stops as soon as the limit is passed, so an alias bomb ("billion
    /// laughs") is caught in microseconds, before anything expands it.
    func hasAtMost(_ limit: Int) -> Bool {
        var budget = limit
        func visit(_ node: Node) -> Bool {
            budget -= 1
            guard budget >= 0 else { return false }
            switch node {
            case .scalar: return true
            case .mapping(let pairs): return pairs.allSatisfy { visit($0.key) && visit($0.value) }
            case .sequence(let items): return items.allSatisfy(visit)
            }
        }
        return visit(self)
    }

    /// Whether no value lies more than `limit` levels down, an alias counting at its depth of
    /// use (aliases can nest deeper than the text shows); stops descending past the limit.
    func nestsAtMost(_ limit: Int) -> Bool {
        func fits(_ node: Node, _ room: Int) -> Bool {
            guard room >= 0 else { return false }
            switch node {
            case .scalar: return true
            case .mapping(let pairs): return pairs.allSatisfy { fits($0.key, room - 1) && fits($0.value, room - 1) }
            case .sequence(let items): return items.allSatisfy { fits($0, room - 1) }
            }
        }
        return fits(self, limit)
    }

    /// The value at a key path of nested mappings.
    func value(at path: [String]) -> Node? {
        var node = self
        for key in path {
            guard case .mapping(let mapping) = node, let next = mapping.first(where: { $0.key.string == key })?.value else { return nil }
            node = next
        }
        return node
    }

    /// Removes a top-level key, returning its value.
    mutating func removeKey(_ key: String) -> Node? {
        guard case .mapping(let mapping) = self, let found = mapping.first(where: { $0.key.string == key }) else { return nil }
        self = .mapping(.init(mapping.filter { $0.key.string != key }.map { ($0.key, $0.value) }))
        return found.value
    }

    /// `over` laid on this tree: mappings merge key by key (recursively), anything else in
    /// `over` replaces what is here.
    func merging(_ over: Node) -> Node {
        guard case .mapping(let mine) = self, case .mapping(let theirs) = over else { return over }
        var pairs = mine.map { ($0.key, $0.value) }
        for (key, value) in theirs.map({ ($0.key, $0.value) }) {
            if let index = pairs.firstIndex(where: { $0.0.string == key.string }) {
                pairs[index].1 = pairs[index].1.merging(value)
            } else {
                pairs.append((key, value))
            }
        }
        return .mapping(.init(pairs))
    }
}
