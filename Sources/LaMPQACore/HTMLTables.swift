/// The result tables as HTML fragments for `iap report` (well-formed XML: every element
/// closed, text escaped).
extension String {
    /// Escaped for XML/HTML text and attribute values; control characters XML 1.0 forbids are dropped.
    public var xmlEscaped: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for c in unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if c.value < 0x20 && c != "\n" && c != "\t" && c != "\r" { continue }
                if c.value == 0xFFFE || c.value == 0xFFFF { continue }
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension ResultsTable {
    /// Table 1 with best in bold, second underlined, significance marks, Δ% row.
    public func html(id: String) -> String {
        var out = "<table id=\"\(id.xmlEscaped)\" class=\"results\"><thead><tr><th>method</th>"
        out += columns.map { "<th>\($0.title.xmlEscaped)</th>" }.joined() + "</tr></thead><tbody>"
        for (m, name) in methods.enumerated() {
            out += "<tr><td>\(name.xmlEscaped)</td>"
            for column in columns {
                let cell = column.cells[m]
                let text = ResultsTable.format(cell.value) + mark(column, row: m)
                switch cell.rank {
                case 1: out += "<td><b>\(text.xmlEscaped)</b></td>"
                case 2: out += "<td><u>\(text.xmlEscaped)</u></td>"
                default: out += "<td>\(text.xmlEscaped)</td>"
                }
            }
            out += "</tr>"
        }
        out += "<tr class=\"delta\"><td>Δ% \((methods.isEmpty ? "" : methods[interest]).xmlEscaped) vs strongest other</td>"
        out += columns.map { "<td>\(percent($0.delta))</td>" }.joined()
        out += "</tr></tbody></table>"
        out += "<p class=\"caption\">\(caption.xmlEscaped)</p>"
        return out
    }

    func percent(_ x: Double?) -> String {
        guard let x else { return "–" }
        let r = (x * 100).rounded() / 100
        return String(r) + "%"
    }
}

extension DeltaTable {
    public func html(id: String) -> String {
        var out = "<table id=\"\(id.xmlEscaped)\" class=\"results\"><thead><tr><th>condition</th>"
        out += columns.map { "<th>\($0.xmlEscaped)</th><th>Δ</th>" }.joined() + "</tr></thead><tbody>"
        for (i, row) in rows.enumerated() {
            out += "<tr><td>\(row.name.xmlEscaped)</td>"
            for c in row.values.indices {
                out +=
                    "<td>\(ResultsTable.format(row.values[c]))</td><td>\(i == reference ? "(reference)" : DeltaTable.signed(row.deltas[c]).xmlEscaped)</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }
}

extension IntentBucketTable {
    public func html(id: String) -> String {
        var out = "<table id=\"\(id.xmlEscaped)\" class=\"results\"><thead><tr><th>domain</th>"
        out += IntentBucketTable.titles.map { "<th>\($0.xmlEscaped)</th>" }.joined() + "</tr></thead><tbody>"
        for (g, name) in groups.enumerated() {
            out +=
                "<tr><td>\(name.xmlEscaped)</td>" + cells[g].map { "<td>\(ResultsTable.format($0.mean)) (n=\($0.count))</td>" }.joined()
                + "</tr>"
        }
        return out + "</tbody></table>"
    }
}
