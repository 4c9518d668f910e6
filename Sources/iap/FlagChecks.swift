import ArgumentParser

/// Range checks for numeric flags, each failing with a message that names the flag and the
/// value (a negative, NaN or infinite value would otherwise crash or hang a command later:
/// a negative count in a range, an infinite timeout in a Duration).
enum FlagCheck {
    static func atLeast(_ flag: String, _ value: Int, _ minimum: Int) throws {
        guard value >= minimum else { throw ValidationError("\(flag) must be at least \(minimum) (got \(value))") }
    }

    static func atLeast(_ flag: String, _ value: Int?, _ minimum: Int) throws {
        if let value { try atLeast(flag, value, minimum) }
    }

    /// A finite number within `range`.
    static func within(_ flag: String, _ value: Double, _ range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(flag) must be a number in \(range.lowerBound)…\(range.upperBound) (got \(value))")
        }
    }

    /// A positive number of seconds, at most a day.
    static func seconds(_ flag: String, _ value: Double) throws {
        guard value.isFinite, value > 0, value <= 86_400 else {
            throw ValidationError("\(flag) must be a number of seconds in (0, 86400] (got \(value))")
        }
    }

    /// A significance level: strictly between 0 and 1.
    static func probability(_ flag: String, _ value: Double) throws {
        guard value.isFinite, value > 0, value < 1 else { throw ValidationError("\(flag) must be in (0, 1) (got \(value))") }
    }
}
