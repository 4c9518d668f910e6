import Foundation

/// Learning rate per optimizer step: linear warm-up over ⌈ratio × total⌉ steps, then
/// constant, linear decay to 0 (TRL's default, the paper's), or cosine decay to 0 — the
/// formulas of transformers' schedulers (`get_constant_schedule_with_warmup`,
/// `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup`).
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Shape: String, Sendable, CaseIterable { case constant, linear, cosine }
    public var base: Double
    public var warmupRatio: Double
    public var totalSteps: Int
    public var shape: Shape

    public init(base: Double, warmupRatio: Double, totalSteps: Int, shape: Shape = .constant) {
        self.base = base
        self.warmupRatio = warmupRatio
        self.totalSteps = totalSteps
        self.shape = shape
    }

    public var warmupSteps: Int { Int((warmupRatio * Double(totalSteps)).rounded(.up)) }

    /// The rate for step `step` (0-based).
    public func rate(at step: Int) -> Double {
        let warmup = warmupSteps
        if step < warmup { return base * Double(step) / Double(max(1, warmup)) }
        switch shape {
        case .constant: return base
        case .linear: return base * max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmup)))
        case .cosine:
            let progress = Double(step - warmup) / Double(max(1, totalSteps - warmup))
            return base * max(0, 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}

/// DAPO's soft overlong punishment (eq. 13): 0 up to maxLength − buffer tokens, then
/// falling linearly to −1 at maxLength, and −1 beyond.
public func overlongPenalty(length: Int, maxLength: Int, buffer: Int) -> Double {
    let expected = maxLength - buffer
    if length <= expected { return 0 }
    if length <= maxLength { return Double(expected - length) / Double(max(1, buffer)) }
    return -1
}
