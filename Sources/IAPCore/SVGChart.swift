import LaMPQACore

/// Inline SVG charts for `iap report`: self-contained markup (no scripts, no fonts to fetch),
/// well-formed XML so the page can be checked by a parser.
public enum SVGChart {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    static func escape(_ text: String) -> String { text.xmlEscaped }

    /// About five round tick values covering [low, high].
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        var magnitude = 1.0
        while magnitude > raw { magnitude /= 10 }
        while magnitude * 10 <= raw { magnitude *= 10 }
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var v = (low / step).rounded(.down) * step
        while v <= high + step * 1e-9 {
            if v >= low - step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v) }
            v += step
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        let a = abs(v)
        let digits = a >= 100 ? 0 : a >= 1 ? 2 : a >= 0.01 ? 3 : 5
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        return String(r)
    }

    /// A line chart of several series over steps; non-finite points are skipped.
    public static func lines(id: String, title: String, xLabel: String, series: [Series], width: Int = 620, height: Int = 260) -> String {
        let left = 58.0, right = 12.0, top = 30.0, bottom = 58.0
        let w = Double(width), h = Double(height)
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(escape(id))\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\">"
        out += "<title>\(escape(title))</title>"
        out += "<text x=\"\(Int(w / 2))\" y=\"18\" text-anchor=\"middle\" class=\"chart-title\">\(escape(title))</text>"
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(), var minY = all.map(\.y).min(), var maxY = all.map(\.y).max()
        else {
            return out + "<text x=\"\(Int(w / 2))\" y=\"\(Int(h / 2))\" text-anchor=\"middle\">no data</text></svg>"
        }
        if minY == maxY {
            minY -= max(abs(minY) * 0.1, 0.5)
            maxY += max(abs(maxY) * 0.1, 0.5)
        }
        let pad = (maxY - minY) * 0.05
        minY -= pad
        maxY += pad
        let spanX = maxX > minX ? maxX - minX : 1
        func px(_ x: Double) -> Double { left + (x - (maxX > minX ? minX : minX - 0.5)) / (maxX > minX ? spanX : 1) * (w - left - right) }
        func py(_ y: Double) -> Double { top + (maxY - y) / (maxY - minY) * (h - top - bottom) }
        func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }
        // Axes, grid and tick labels.
        for t in ticks(minY, maxY) {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(w - right))\" y2=\"\(f(py(t)))\" class=\"grid\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" class=\"tick\">\(escape(label(t)))</text>"
        }
        for t in ticks(minX, maxX) {
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(h - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(escape(label(t)))</text>"
        }
        out += "<line x1=\"\(f(left))\" y1=\"\(f(h - bottom))\" x2=\"\(f(w - right))\" y2=\"\(f(h - bottom))\" class=\"axis\"/>"
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(h - bottom))\" class=\"axis\"/>"
        out +=
            "<text x=\"\(f((left + w - right) / 2))\" y=\"\(f(h - bottom + 32))\" text-anchor=\"middle\" class=\"tick\">\(escape(xLabel))</text>"
        // Series and legend.
        var legendX = left
        for (k, s) in series.enumerated() {
            let color = palette[k % palette.count]
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            if points.count == 1 {
                out += "<circle cx=\"\(f(px(points[0].x)))\" cy=\"\(f(py(points[0].y)))\" r=\"3\" fill=\"\(color)\"/>"
            } else if !points.isEmpty {
                let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out +=
                    "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" class=\"series\"><title>\(escape(s.name))</title></polyline>"
            }
            out += "<rect x=\"\(f(legendX))\" y=\"\(f(h - 14))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            out += "<text x=\"\(f(legendX + 14))\" y=\"\(f(h - 5))\" class=\"legend\">\(escape(s.name))</text>"
            legendX += 24 + Double(s.name.count) * 6.5
        }
        return out + "</svg>"
    }

    /// Grouped bars: one group per category, one bar per series (nil: no bar).
    public static func bars(
        id: String, title: String, categories: [String], series: [(name: String, values: [Double?])], width: Int = 620, height: Int = 280
    ) -> String {
        let left = 58.0, right = 12.0, top = 30.0, bottom = 62.0
        let w = Double(width), h = Double(height)
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(escape(id))\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\">"
        out += "<title>\(escape(title))</title>"
        out += "<text x=\"\(Int(w / 2))\" y=\"18\" text-anchor=\"middle\" class=\"chart-title\">\(escape(title))</text>"
        let values = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
        guard !values.isEmpty, !categories.isEmpty else {
            return out + "<text x=\"\(Int(w / 2))\" y=\"\(Int(h / 2))\" text-anchor=\"middle\">no data</text></svg>"
        }
        let minY = min(0, values.min() ?? 0)
        var maxY = max(0, values.max() ?? 1)
        if maxY == minY { maxY = minY + 1 }
        maxY += (maxY - minY) * 0.08
        func py(_ y: Double) -> Double { top + (maxY - y) / (maxY - minY) * (h - top - bottom) }
        func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }
        for t in ticks(minY, maxY) {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(w - right))\" y2=\"\(f(py(t)))\" class=\"grid\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" class=\"tick\">\(escape(label(t)))</text>"
        }
        let groupWidth = (w - left - right) / Double(categories.count)
        let barWidth = groupWidth * 0.8 / Double(max(1, series.count))
        for (c, category) in categories.enumerated() {
            let x0 = left + Double(c) * groupWidth + groupWidth * 0.1
            for (k, s) in series.enumerated() {
                guard c < s.values.count, let v = s.values[c], v.isFinite else { continue }
                let y = py(max(v, 0)), y0 = py(min(v, 0))
                out +=
                    "<rect x=\"\(f(x0 + Double(k) * barWidth))\" y=\"\(f(y))\" width=\"\(f(barWidth - 2))\" height=\"\(f(max(0.5, y0 - y)))\" fill=\"\(palette[k % palette.count])\" class=\"bar\"><title>\(escape(s.name)) · \(escape(category)): \(escape(label(v)))</title></rect>"
            }
            out +=
                "<text x=\"\(f(x0 + groupWidth * 0.4))\" y=\"\(f(h - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(escape(category))</text>"
        }
        out += "<line x1=\"\(f(left))\" y1=\"\(f(py(0)))\" x2=\"\(f(w - right))\" y2=\"\(f(py(0)))\" class=\"axis\"/>"
        var legendX = left
        for (k, s) in series.enumerated() {
            out += "<rect x=\"\(f(legendX))\" y=\"\(f(h - 14))\" width=\"10\" height=\"10\" fill=\"\(palette[k % palette.count])\"/>"
            out += "<text x=\"\(f(legendX + 14))\" y=\"\(f(h - 5))\" class=\"legend\">\(escape(s.name))</text>"
            legendX += 24 + Double(s.name.count) * 6.5
        }
        return out + "</svg>"
    }
}
