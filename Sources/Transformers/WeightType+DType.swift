import ModelFormats
import Torch

extension WeightType {
    /// The tensors' element type.
    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .bfloat16: .bfloat16
        case .float16: .float16
        }
    }
}
