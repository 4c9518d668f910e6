/// One line of metrics.jsonl: the step and named scalars (`reward/mean`, `policy/kl`, …);
/// a scalar that could not be computed (a skipped update's KL) is null, not a made-up 0.
public struct MetricsLine: Codable, Sendable, Equatable {
    public var step: Int
    public var values: [String: Double?]

    public init(step: Int, values: [(String, Double?)]) {
        self.step = step
        self.values = Dictionary(values.map { ($0.0, $0.1.flatMap { $0.isFinite ? $0 : nil }) }, uniquingKeysWith: { a, _ in a })
    }

    public subscript(key: String) -> Double? { values[key] ?? nil }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        step = try container.decode(Int.self, forKey: Key("step"))
        var values: [String: Double?] = [:]
        for key in container.allKeys where key.stringValue != "step" {
            // Non-numeric fields (none today) are left out rather than failing the line.
            values[key.stringValue] = (try? container.decodeIfPresent(Double.self, forKey: key)) ?? nil
        }
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(step, forKey: Key("step"))
        for (name, value) in values { try container.encode(value, forKey: Key(name)) }
    }

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
