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
}
