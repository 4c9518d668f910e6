extension TrainConfig {
    /// `reward:` — r = λ_pers·μ(ŷ) − λ_contrast·contrast − λ_length·max(0, |intent| − L)
    /// (SPEC-IAP.md), and what a malformed rollout earns.
    public struct Reward: Codable, Sendable, Equatable {
        public var lambdaPers = 1.0
        public var lambdaContrast = 0.1
        public var lambdaLength = 0.01
        /// λ inside the contrast term: λ·sim + max(0, μ(ȳ) − μ(ŷ)).
        public var similarityWeight = 1.0
        /// L: intent tokens allowed before the length penalty.
        public var intentTokenLimit = 400
        public var similarity = SimilarityMetric.bertscore
        /// The encoder of BERTScore (and of profile ranking).
        public var similarityModel = "all-minilm-l6-v2"
        /// Hidden layer BERTScore reads (default: the model's own recommendation).
        public var similarityLayer: Int?
        /// A bert_score baseline file (LAYER,P,R,F) to rescale BERTScore with; nil: raw scores.
        public var similarityBaseline: String?
        public var idf = false
        public var malformed = RewardSettings.Malformed.fixed(-1)
        /// DAPO's soft overlong punishment: the length where it reaches −1, and its ramp.
        public var overlongMax: Int?
        public var overlongBuffer = 0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case lambdaPers = "lambda_pers"
            case lambdaContrast = "lambda_contrast"
            case lambdaLength = "lambda_length"
            case similarityWeight = "similarity_weight"
            case intentTokenLimit = "intent_token_limit"
            case similarity
            case similarityModel = "similarity_model"
            case similarityLayer = "similarity_layer"
            case similarityBaseline = "similarity_baseline"
            case idf, malformed
            case overlongMax = "overlong_max"
            case overlongBuffer = "overlong_buffer"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            lambdaPers = try read(.lambdaPers, d.lambdaPers)
            lambdaContrast = try read(.lambdaContrast, d.lambdaContrast)
            lambdaLength = try read(.lambdaLength, d.lambdaLength)
            similarityWeight = try read(.similarityWeight, d.similarityWeight)
            intentTokenLimit = try read(.intentTokenLimit, d.intentTokenLimit)
            similarity = try read(.similarity, d.similarity)
            similarityModel = try read(.similarityModel, d.similarityModel)
            similarityLayer = try read(.similarityLayer, d.similarityLayer)
            similarityBaseline = try read(.similarityBaseline, d.similarityBaseline)
            idf = try read(.idf, d.idf)
            malformed = try read(.malformed, d.malformed)
            overlongMax = try read(.overlongMax, d.overlongMax)
            overlongBuffer = try read(.overlongBuffer, d.overlongBuffer)
        }

        /// The reward formula's settings.
        public var settings: RewardSettings {
            var s = RewardSettings()
            s.personalization = lambdaPers
            s.contrast = lambdaContrast
            s.length = lambdaLength
            s.similarityWeight = similarityWeight
            s.intentTokenLimit = intentTokenLimit
            s.malformed = malformed
            if let overlongMax { s.overlong = (overlongMax, overlongBuffer) }
            return s
        }
    }
}

/// How an answer is compared with the reference policy's intent-free answer.
public enum SimilarityMetric: String, ConfigChoice {
    case bertscore
    case rougeL = "rouge-l"
}

/// A malformed rollout's reward, written as a number, `group-min` or `judged-minus:P`.
extension RewardSettings.Malformed: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text == "group-min" {
            self = .groupMinimum(margin: 0.1, fallback: -1)
        } else if text.hasPrefix("judged-minus:"), let penalty = Double(text.dropFirst("judged-minus:".count)) {
            self = .judgedMinus(penalty: penalty)
        } else if let value = Double(text) {
            self = .fixed(value)
        } else {
            throw InvalidConfigChoice(
                path: decoder.codingPath.map(\.stringValue), value: text, allowed: ["a number", "group-min", "judged-minus:PENALTY"])
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fixed(let value): try container.encode(String(value))
        case .groupMinimum: try container.encode("group-min")
        case .judgedMinus(let penalty): try container.encode("judged-minus:\(penalty)")
        }
    }
}
