/// Rebuilds rows from leaf columns (Dremel's record assembly) in two steps:
///
/// 1. each column alone becomes one value per row shaped by the optional and repeated nodes on
///    its path: a repeated node a list (a new element where the repetition level equals the
///    node's), an absent node null (definition level below the node's);
/// 2. the columns under each group are zipped into records, level by level, following the
///    schema; LIST-annotated groups become plain lists of their elements.
struct RecordAssembly {
    let root: SchemaNode

    /// The rows of one row group, from its columns in schema order.
    func rows(_ columns: [ColumnData], rowCount: Int) throws(ParquetFormatError) -> [ParquetValue] {
        var shaped: [[Shaped]] = []
        for (leaf, column) in zip(leafPaths(root), columns) {
            var cursor = LevelCursor(column: column)
            var rows: [Shaped] = []
            rows.reserveCapacity(min(rowCount, 1 << 20))
            while !cursor.isAtEnd {
                guard cursor.repetition == 0 else {
                    throw ParquetFormatError(
                        "column \(leaf.last?.element.name ?? "?") starts a row with repetition level \(cursor.repetition)")
                }
                rows.append(try shape(leaf, 1, &cursor))
            }
            guard rows.count == rowCount else {
                throw ParquetFormatError(
                    "column \(leaf.map(\.element.name).dropFirst().joined(separator: ".")) has \(rows.count) rows, the row group \(rowCount)"
                )
            }
            shaped.append(rows)
        }
        return (0..<rowCount).map { r in
            .record(
                root.children.map { child in
                    ParquetValue.Field(name: child.element.name, value: merge(child, child.leaves.map { shaped[$0][r] }))
                })
        }
    }

    /// Root-to-leaf node paths of the leaf columns, in column order.
    private func leafPaths(_ node: SchemaNode, _ prefix: [SchemaNode] = []) -> [[SchemaNode]] {
        let path = prefix + [node]
        return node.isLeaf ? [path] : node.children.flatMap { leafPaths($0, path) }
    }

    /// One column's value at `path[i]`, consuming the entries that belong to it.
    private func shape(_ path: [SchemaNode], _ i: Int, _ cursor: inout LevelCursor) throws(ParquetFormatError) -> Shaped {
        let node = path[i]
        if node.element.repetition != .required, cursor.definition < node.definition {
            try cursor.advance(consumingValue: false)
            return node.element.repetition == .repeated ? .list([]) : .null
        }
        switch node.element.repetition {
        case .required: return try inner(path, i, &cursor)
        case .optional: return .some(try inner(path, i, &cursor))
        case .repeated:
            var items = [try inner(path, i, &cursor)]
            while !cursor.isAtEnd, cursor.repetition == node.repetition { items.append(try inner(path, i, &cursor)) }
            return .list(items)
        }
    }

    private func inner(_ path: [SchemaNode], _ i: Int, _ cursor: inout LevelCursor) throws(ParquetFormatError) -> Shaped {
        guard i + 1 < path.count else { return .value(try cursor.advance(consumingValue: true)) }
        return try shape(path, i + 1, &cursor)
    }

    /// Zips the shaped values of the columns under `node` into the node's value.
    private func merge(_ node: SchemaNode, _ values: [Shaped]) -> ParquetValue {
        switch values.first {
        case .none, .null: return .null
        case .some(.some): return mergeInner(node, values.map(\.unwrapped))
        case .list(let items): return .list(items.indices.map { k in mergeInner(node, values.map { $0.element(k) }) })
        case .value: return mergeInner(node, values)
        }
    }

    private func mergeInner(_ node: SchemaNode, _ values: [Shaped]) -> ParquetValue {
        if node.isLeaf, case .value(let value) = values.first { return value }
        if node.isLeaf { return .null }
        let fields = node.children.map { child in
            ParquetValue.Field(name: child.element.name, value: merge(child, child.leaves.map { values[$0 - node.leaves.lowerBound] }))
        }
        // A LIST group holds one repeated child whose elements are the list's (3-level: a group
        // of one field, the element; 2-level: the element itself).
        if node.element.isList, node.children.count == 1, node.children[0].element.repetition == .repeated,
            case .list(let items) = fields[0].value
        {
            let repeated = node.children[0]
            guard !repeated.isLeaf, repeated.children.count == 1 else { return .list(items) }
            return .list(items.map { $0[repeated.children[0].element.name] ?? .null })
        }
        return .record(fields)
    }

}

/// A read position in one column's levels and values.
struct LevelCursor {
    let column: ColumnData
    private var entry = 0
    private var value = 0

    init(column: ColumnData) { self.column = column }

    var isAtEnd: Bool { entry >= column.definition.count }
    var repetition: Int { Int(column.repetition[entry]) }
    var definition: Int { Int(column.definition[entry]) }

    /// Moves past the current entry, returning its value when it has one.
    @discardableResult
    mutating func advance(consumingValue: Bool) throws(ParquetFormatError) -> ParquetValue {
        guard !isAtEnd else { throw ParquetFormatError("a column ends inside a row") }
        entry += 1
        guard consumingValue else { return .null }
        guard value < column.values.count else { throw ParquetFormatError("a column has fewer values than its levels say") }
        defer { value += 1 }
        return column.values[value]
    }
}

/// One column's value in a row before the columns are zipped: an optional node that is
/// present wraps its content (`some`), so a null is known to belong to its own level.
indirect enum Shaped {
    case null
    case some(Shaped)
    case list([Shaped])
    case value(ParquetValue)

    var unwrapped: Shaped { if case .some(let inner) = self { inner } else { .null } }

    func element(_ k: Int) -> Shaped {
        if case .list(let items) = self, k < items.count { return items[k] }
        return .null
    }
}
