import Foundation
@testable import Hub
import HubTestSupport
import Hummingbird
import Testing

@testable import ModelStore

/// The client's blocking download on a thread of its own (not the test's cooperative thread,
/// which the server's handlers need).
func download(_ client: HubClient, _ repository: String) async -> Result<String, HubError> {
    await withCheckedContinuation { continuation in
        Thread {
            do throws(HubError) {
                continuation.resume(returning: .success(try client.download(HubRepository(parsing: repository)!)))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }.start()
    }
}

/// `iap`'s Hub client against the test Hub on loopback: files a model needs, blobs named by
/// their SHA-256 behind snapshot links and a ref; a second pull downloads nothing; a download
/// cut half-way continues with `Range`; wrong bytes never enter the cache; gated and missing
/// repositories are explained, and the token goes to the Hub's host only.
@Suite struct HubDownloadTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/tiny-llama3")
    static let commit = String(repeating: "c0ffee", count: 6) + "abcd"

    static func server() throws -> HubTestServer {
        let config = [UInt8](try Data(contentsOf: fixture.appendingPathComponent("config.json")))
        let weights = [UInt8](try Data(contentsOf: fixture.appendingPathComponent("model.safetensors")))
        let files = [
            "config.json": config, "model.safetensors": weights, "README.md": Array("# tiny".utf8),
            "consolidated.safetensors": [1, 2, 3], "onnx/model.onnx": [4, 5],
        ]
        return HubTestServer([
            "org/tiny": .init(commit: commit, files: files),
            "org/gated": .init(commit: commit, files: files, gated: true),
            "org/bad": .init(commit: commit, files: files, corrupt: ["model.safetensors"]),
        ])
    }

    static func scratchCache() -> HubCache {
        HubCache(root: FileManager.default.temporaryDirectory.appendingPathComponent("hub-dl-\(UUID().uuidString)").path)
    }

    @Test func progressSaysBytesRateAndETA() {
        let progress = DownloadProgress(
            file: "model.safetensors", total: 1_000_000_000, resumed: 100_000_000, log: { _ in }, terminal: false)
        #expect(progress.line(500_000_000, progress.started + 8) == "model.safetensors: 500.0 MB of 1000.0 MB (50%), ETA 10 s, 50.0 MB/s")
        let unknown = DownloadProgress(file: "x", total: nil, resumed: 0, log: { _ in }, terminal: false)
        #expect(unknown.line(2_000_000, unknown.started + 1) == "x: 2.0 MB, 2.0 MB/s")
    }

    @Test func neededFilesAreTheModelsOnly() {
        let files = [
            "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "README.md", "tokenizer.json", "onnx/model.onnx", "consolidated.safetensors", "spm.model",
        ]
        #expect(
            HubClient.neededFiles(files) == [
                "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "spm.model", "tokenizer.json",
            ])
        #expect(
            HubClient.neededFiles(["config.json", "pytorch_model.bin", "spm.model"]) == ["config.json", "pytorch_model.bin", "spm.model"])
    }

    @Test func pullsIntoTheSharedLayoutAndReusesIt() async throws {
        let server = try Self.server()
        let cache = Self.scratchCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        try await withHubServer(server) { port in
            let client = HubClient(endpoint: "http://127.0.0.1:\(port)", token: nil, cache: cache)
            let snapshot = try await download(client, "org/tiny").get()
            #expect(snapshot == cache.folder(of: HubRepository(id: "org/tiny")) + "/snapshots/" + Self.commit)
            let names = try FileManager.default.contentsOfDirectory(atPath: snapshot).sorted()
            #expect(names == ["config.json", "model.safetensors"])
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: snapshot + "/model.safetensors")
            let weights = [UInt8](try Data(contentsOf: Self.fixture.appendingPathComponent("model.safetensors")))
            #expect(link == "../../blobs/" + HubTestServer.sha256(weights))
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: snapshot + "/model.safetensors"))) == weights)
            #expect(cache.commit(of: HubRepository(id: "org/tiny")) == Self.commit)
            #expect(try ModelStore(hubCache: cache).resolve("org/tiny", pull: false) == .folder(snapshot))
            // Again: metadata only, no bytes.
            let before = server.log.filter { $0.path.hasPrefix("/cdn/") }.count
            _ = try await download(client, "org/tiny").get()
            #expect(server.log.filter { $0.path.hasPrefix("/cdn/") }.count == before)
            #expect(!server.log.contains { $0.path.contains("README") || $0.path.contains("onnx") || $0.path.contains("consolidated") })
        }
    }

    @Test func aDownloadCutHalfwayContinues() async throws {
        let server = try Self.server()
        let cache = Self.scratchCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let weights = [UInt8](try Data(contentsOf: Self.fixture.appendingPathComponent("model.safetensors")))
        let sha = HubTestServer.sha256(weights)
        server.dropHalfway("org/tiny", sha256: sha)
        try await withHubServer(server) { port in
            let client = HubClient(endpoint: "http://127.0.0.1:\(port)", token: nil, cache: cache)
            guard case .failure(let error) = await download(client, "org/tiny") else {
                Issue.record("a cut download succeeded")
                return
            }
            #expect(error.message.contains("model.safetensors") && error.message.contains("again"), "\(error)")
            let partial = cache.folder(of: HubRepository(id: "org/tiny")) + "/blobs/" + sha + ".incomplete"
            let kept = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int) ?? 0
            #expect(kept > 0 && kept < weights.count)
            #expect(cache.commit(of: HubRepository(id: "org/tiny")) == nil, "the ref is written last")
            // Nor is there a snapshot link: a commit-pinned revision (no ref) would look complete.
            #expect(
                !FileManager.default.fileExists(
                    atPath: cache.folder(of: HubRepository(id: "org/tiny")) + "/snapshots/\(Self.commit)/config.json"))
            #expect(cache.snapshot(of: HubRepository(id: "org/tiny", revision: Self.commit)) == nil)
            let snapshot = try await download(client, "org/tiny").get()
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: snapshot + "/model.safetensors"))) == weights)
            #expect(server.log.contains { $0.path == "/cdn/org/tiny/" + sha && $0.range == "bytes=\(kept)-" })
            #expect(!FileManager.default.fileExists(atPath: partial))
        }
    }

    @Test func wrongBytesNeverEnterTheCache() async throws {
        let server = try Self.server()
        let cache = Self.scratchCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        try await withHubServer(server) { port in
            let client = HubClient(endpoint: "http://127.0.0.1:\(port)", token: nil, cache: cache)
            guard case .failure(let error) = await download(client, "org/bad") else {
                Issue.record("wrong bytes were accepted")
                return
            }
            #expect(error.message.contains("SHA-256") && error.message.contains("model.safetensors"), "\(error)")
            let blobs =
                (try? FileManager.default.contentsOfDirectory(atPath: cache.folder(of: HubRepository(id: "org/bad")) + "/blobs")) ?? []
            #expect(
                !blobs.contains {
                    $0.hasPrefix(
                        HubTestServer.sha256([UInt8](try! Data(contentsOf: Self.fixture.appendingPathComponent("model.safetensors")))))
                })
            #expect(cache.snapshot(of: HubRepository(id: "org/bad")) == nil)
        }
    }

    @Test func gatedAndMissingRepositoriesAreExplained() async throws {
        let server = try Self.server()
        let cache = Self.scratchCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        try await withHubServer(server) { port in
            let endpoint = "http://127.0.0.1:\(port)"
            let anonymous = HubClient(endpoint: endpoint, token: nil, cache: cache)
            if case .failure(let error) = await download(anonymous, "org/gated") {
                #expect(
                    error.message.contains("gated") && error.message.contains("HF_TOKEN") && error.message.contains("\(endpoint)/org/gated")
                )
            } else {
                Issue.record("a gated repository downloaded without a token")
            }
            if case .failure(let error) = await download(anonymous, "org/absent") {
                #expect(error.message.contains("404") && error.message.contains("org/absent"))
            } else {
                Issue.record("a missing repository downloaded")
            }
            let keyed = HubClient(endpoint: endpoint, token: HubTestServer.token, cache: cache)
            _ = try await download(keyed, "org/gated").get()
            // The token went to the Hub's host, never to the CDN on another host.
            #expect(
                server.log.contains { $0.path.hasPrefix("/api/models/org/gated") && $0.authorization == "Bearer \(HubTestServer.token)" })
            #expect(server.log.filter { $0.path.hasPrefix("/cdn/") }.allSatisfy { $0.authorization == nil })
        }
    }
}

/// SHA-256 against FIPS 180-4's examples, fed whole and in uneven pieces (as a download
/// arrives): the check that keeps wrong bytes out of the cache is only as good as this.
@Suite struct SHA256Tests {
    @Test func knownDigests() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let cases: [([UInt8], String)] = [
            ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            (million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ]
        for (bytes, digest) in cases {
            var whole = SHA256()
            whole.update(bytes)
            #expect(whole.hexDigest() == digest)
            var pieces = SHA256()
            var start = 0
            for size in [1, 63, 64, 65, 7, 1000].cycled(until: bytes.count) {
                let end = min(bytes.count, start + size)
                pieces.update(Array(bytes[start..<end]))
                start = end
            }
            #expect(pieces.hexDigest() == digest, "\(bytes.count) bytes in pieces")
        }
    }
}

extension Array where Element == Int {
    /// These sizes repeated until they cover `total`.
    fileprivate func cycled(until total: Int) -> [Int] {
        var out: [Int] = []
        var covered = 0
        while covered < total {
            let size = self[out.count % count]
            out.append(size)
            covered += size
        }
        return out
    }
}
