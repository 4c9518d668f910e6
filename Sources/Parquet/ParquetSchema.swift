/// The schema as a tree, with each leaf column's maximum repetition and definition levels
/// (Dremel's encoding of nesting: a level counts the repeated, resp. non-required, nodes on
/// the path from the root).
final class SchemaNode: Sendable {
    let element: SchemaElement
    let children: [SchemaNode]
    /// Levels reached when this node is present (`definition`) / repeats (`repetition`).
    let definition: Int
    let repetition: Int
    /// The leaf columns under this node, as indices into the row group's columns (DFS order).
    let leaves: Range<Int>

    init(element: SchemaElement, children: [SchemaNode], definition: Int, repetition: Int, leaves: Range<Int>) {
        self.element = element
        self.children = children
        self.definition = definition
        self.repetition = repetition
        self.leaves = leaves
    }

    var isLeaf: Bool { children.isEmpty }

    /// Builds the tree from the footer's depth-first list (the first element is the root).
    static func tree(_ elements: [SchemaElement]) throws(ParquetFormatError) -> SchemaNode {
        var index = 0
        var leafCount = 0
        let root = try build(elements, &index, &leafCount, parentDefinition: 0, parentRepetition: 0, depth: 0, isRoot: true)
        guard index == elements.count else {
            throw ParquetFormatError("the schema lists \(elements.count - index) elements outside its tree")
        }
        return root
    }

    private static func build(
        _ elements: [SchemaElement], _ index: inout Int, _ leafCount: inout Int, parentDefinition: Int, parentRepetition: Int, depth: Int,
        isRoot: Bool
    ) throws(ParquetFormatError) -> SchemaNode {
        guard index < elements.count else { throw ParquetFormatError("the schema's child counts run past its elements") }
        guard depth < 64 else { throw ParquetFormatError("the schema nests deeper than 64") }
        let element = elements[index]
        index += 1
        let definition = parentDefinition + (isRoot || element.repetition == .required ? 0 : 1)
        let repetition = parentRepetition + (!isRoot && element.repetition == .repeated ? 1 : 0)
        let first = leafCount
        var children: [SchemaNode] = []
        for _ in 0..<element.childCount {
            children.append(
                try build(
                    elements, &index, &leafCount, parentDefinition: definition, parentRepetition: repetition, depth: depth + 1,
                    isRoot: false))
        }
        if children.isEmpty {
            guard !isRoot else { throw ParquetFormatError("the schema has no columns") }
            guard element.type != nil else { throw ParquetFormatError("column \(element.name) has neither children nor a type") }
            leafCount += 1
        }
        return SchemaNode(element: element, children: children, definition: definition, repetition: repetition, leaves: first..<leafCount)
    }
}
