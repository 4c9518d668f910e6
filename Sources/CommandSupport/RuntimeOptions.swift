import ArgumentParser
import ModelFormats
import Torch

/// `--dtype float32|bfloat16|float16` (or f32, bf16, f16).
extension WeightType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

/// `--device auto|cpu|cuda|cuda:N`.
extension DeviceChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { ["auto", "cpu", "cuda", "cuda:N"] }
    public var defaultValueDescription: String { description }
}

/// Where and in which type the commands that run a model (answer, generate, serve, ask) run it.
public struct RuntimeOptions: ParsableArguments {
    @Option(help: "Device: auto (a GPU when one can be used, else the CPU), cpu or cuda[:N].")
    public var device = DeviceChoice.auto

    @Option(help: "Weights' type: float32, bfloat16 or float16 (the paper's models on a GPU: bfloat16).")
    public var dtype = WeightType.float32

    public init() {}

    /// The device, with the CUDA backend loaded when it is a GPU.
    public func resolvedDevice() throws(ExitCode) -> Device { try CLI.resolve(device) }
}

/// The model a command runs: a known name, a Hub id, a path or a checkpoint, with an adapter.
public struct ModelOptions: ParsableArguments {
    @Option(help: "A known model name (iap models list), a Hub id (org/name[@revision]), a path, or a checkpoint folder of iap train.")
    public var model = "smollm2-135m-instruct"

    @Option(
        help:
            "A LoRA adapter folder (PEFT: adapter_config.json, adapter_model.safetensors) applied to the model; a LoRA run's checkpoint may also be given as the model itself."
    )
    public var adapter: String?

    public init() {}
}
