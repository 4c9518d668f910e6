/// trainer_state.json of a checkpoint: where the run stands (the optimizer's moments and
/// the weights are beside it). `cursor` and `epoch` are the IAP trainer's data position;
/// SFT derives its position from the step.
public struct TrainerState: Codable, Sendable, Equatable {
    public static let fileName = "trainer_state.json"

    public var step: Int
    public var cursor: Int?
    public var epoch: Int?
    public var seed: Int
    public var optimizerStep: Int

    public init(step: Int, cursor: Int? = nil, epoch: Int? = nil, seed: Int, optimizerStep: Int) {
        self.step = step
        self.cursor = cursor
        self.epoch = epoch
        self.seed = seed
        self.optimizerStep = optimizerStep
    }

    enum CodingKeys: String, CodingKey {
        case step, cursor, epoch, seed
        case optimizerStep = "optimizer_step"
    }

    /// Counts are checked here: a negative one (a damaged or hand-edited file) is an error
    /// naming the field, not an index that crashes a trainer later; so is a number that is no
    /// whole number or does not fit an Int (Foundation would call the whole file invalid JSON).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func integer(_ key: CodingKeys, minimum: Int) throws -> Int? {
            guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
            guard let value = try? c.decode(Int.self, forKey: key) else {
                let number = try c.decode(Double.self, forKey: key)
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "must be a whole number that fits 64 bits, got \(number)")
            }
            guard value >= minimum else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be \(minimum) or more, got \(value)")
            }
            return value
        }
        guard let step = try integer(.step, minimum: 0) else {
            throw DecodingError.keyNotFound(CodingKeys.step, .init(codingPath: c.codingPath, debugDescription: "missing"))
        }
        self.step = step
        cursor = try integer(.cursor, minimum: 0)
        epoch = try integer(.epoch, minimum: 0)
        guard let seed = try integer(.seed, minimum: Int.min) else {
            throw DecodingError.keyNotFound(CodingKeys.seed, .init(codingPath: c.codingPath, debugDescription: "missing"))
        }
        self.seed = seed
        optimizerStep = try integer(.optimizerStep, minimum: 0) ?? step
    }
}
