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
    /// naming the field, not an index that crashes a trainer later.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int? {
            guard let value = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
            guard value >= 0 else { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be 0 or more, got \(value)") }
            return value
        }
        guard let step = try count(.step) else {
            throw DecodingError.keyNotFound(CodingKeys.step, .init(codingPath: c.codingPath, debugDescription: "missing"))
        }
        self.step = step
        cursor = try count(.cursor)
        epoch = try count(.epoch)
        seed = try c.decode(Int.self, forKey: .seed)
        optimizerStep = try count(.optimizerStep) ?? step
    }
}
