import Foundation
import Testing

@testable import FileIO
@testable import JSONFiles

/// A fresh temporary folder per test.
func scratchFolder(_ name: String = #function) throws -> String {
    let path = NSTemporaryDirectory() + "iap-fileio-\(name.filter(\.isLetter))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileSystem.makeDirectories(path)
    return path
}

@Suite struct AtomicWriteTests {
    @Test func writesWholeFilesAndCreatesFolders() throws {
        let folder = try scratchFolder()
        let path = folder + "/a/b/c.txt"
        try AtomicFile.write("one", to: path)
        try AtomicFile.write("two", to: path)
        #expect(try AtomicFile.readText(path) == "two")
        #expect(FileSystem.list(folder + "/a/b") == ["c.txt"], "no temporary file is left behind")
    }

    @Test func anAbandonedWriterLeavesTheOldFile() throws {
        let folder = try scratchFolder()
        let path = folder + "/x.bin"
        try AtomicFile.write("old", to: path)
        do {
            let writer = try AtomicFileWriter(path: path)
            try writer.write(Array("new, but never committed".utf8))
        }
        #expect(try AtomicFile.readText(path) == "old")
        #expect(FileSystem.list(folder) == ["x.bin"])
    }

    /// A save killed between its steps leaves `NAME.partial-PID` (possibly GBs) or, between
    /// the two renames, the old folder as `NAME.previous-PID` and no NAME: the next start
    /// removes the first and puts the second back. Folders of live processes are left alone.
    @Test func leftoversOfDeadWritersAreCleanedUp() throws {
        let folder = try scratchFolder()
        let dead: Int32 = 4_194_305  // above Linux's largest pid: no such process
        for name in [
            "step-8.partial-\(dead)", "step-16.previous-\(dead)", "step-24.previous-\(dead)", "step-24",
            "step-32.partial-\(getppid())",
        ] {
            try FileSystem.makeDirectories(folder + "/" + name)
        }
        try AtomicFile.write("weights", to: folder + "/step-16.previous-\(dead)/model.safetensors")
        let done = AtomicFolder.recoverStale(in: folder)
        #expect(done.count == 3, "\(done)")
        #expect(FileSystem.list(folder).sorted() == ["step-16", "step-24", "step-32.partial-\(getppid())"])
        #expect(try AtomicFile.readText(folder + "/step-16/model.safetensors") == "weights")
    }

    @Test func aFailedFillLeavesTheOldFolder() throws {
        let folder = try scratchFolder() + "/checkpoint"
        try AtomicFolder.replace(folder) { try AtomicFile.write("1", to: $0 + "/w") }
        struct Boom: Error {}
        #expect(throws: Boom.self) { try AtomicFolder.replace(folder) { _ in throw Boom() } }
        #expect(try AtomicFile.readText(folder + "/w") == "1")
        try AtomicFolder.replace(folder) { try AtomicFile.write("2", to: $0 + "/w") }
        #expect(try AtomicFile.readText(folder + "/w") == "2")
    }
}

@Suite struct JSONLinesTests {
    struct Line: Codable, Equatable { var step: Int; var value: Double? }

    @Test func aPartialLastLineIsSkippedAndNotGluedOnto() throws {
        let path = try scratchFolder() + "/metrics.jsonl"
        try JSONLines.append(Line(step: 1, value: 0.5), to: path)
        // A writer killed mid-line.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"step\": 2, \"val".utf8))
        handle.closeFile()
        try JSONLines.append(Line(step: 3, value: nil), to: path)
        let read = try JSONLines.read(Line.self, from: path)
        #expect(read.records == [Line(step: 1, value: 0.5), Line(step: 3, value: nil)])
        #expect(read.skipped.count == 1 && read.skipped[0].hasPrefix(path + ":2:"), "\(read.skipped)")
    }

    @Test func aShortWriteIsAnErrorNamingTheFile() {
        // /dev/full accepts the open and refuses every byte (ENOSPC).
        #expect(throws: FileIOError.self) { try JSONLinesFile.append(line: "{}", to: "/dev/full") }
        do {
            try JSONLinesFile.append(line: "{}", to: "/dev/full")
        } catch {
            #expect(error.path == "/dev/full" && error.reason.contains("short write"), "\(error)")
        }
    }

    @Test func filterKeepsOnlyAcceptedLines() throws {
        let path = try scratchFolder() + "/r.jsonl"
        for step in 1...4 { try JSONLines.append(Line(step: step, value: Double(step)), to: path) }
        try JSONLinesFile.filter(path) { (try? JSONFile.decode(Line.self, from: $0, source: "").step) ?? 0 <= 2 }
        #expect(try JSONLines.read(Line.self, from: path).records.map(\.step) == [1, 2])
    }
}

@Suite struct JSONFileTests {
    struct Record: Codable, Equatable {
        struct Post: Codable, Equatable { var text: String }
        var id: String
        var profile: [Post]
    }

    @Test func controlCharactersAreShownNotObeyed() {
        #expect(PrintableText.escaped("plain\ttext\n") == "plain\ttext\n")
        #expect(PrintableText.escaped("id \u{1B}[2J\r\u{7}\u{9B}x") == "id \\u{1B}[2J\\u{D}\\u{7}\\u{9B}x")
    }

    @Test func decodingErrorsNameTheFileAndTheField() throws {
        let path = try scratchFolder() + "/data.json"
        try AtomicFile.write(#"{"id": "a", "profile": [{"text": "x"}, {"text": 5}]}"#, to: path)
        #expect(throws: JSONFileError.self) { try JSONFile.read(Record.self, from: path) }
        do {
            _ = try JSONFile.read(Record.self, from: path)
        } catch {
            #expect(error.path == path)
            #expect(error.reason.hasPrefix("profile[1].text: expected text"), "\(error.reason)")
        }
        try AtomicFile.write(#"{"id": "a""#, to: path)
        do { _ = try JSONFile.read(Record.self, from: path) } catch { #expect(error.reason.hasPrefix("not valid JSON"), "\(error.reason)") }
        try AtomicFile.write(#"{"profile": []}"#, to: path)
        do { _ = try JSONFile.read(Record.self, from: path) } catch { #expect(error.reason == "id: missing", "\(error.reason)") }
    }

    @Test func roundTrip() throws {
        let path = try scratchFolder() + "/r.json"
        let value = Record(id: "q/1", profile: [.init(text: "ü \"quoted\"")])
        try JSONFile.write(value, to: path)
        #expect(try JSONFile.read(Record.self, from: path) == value)
        #expect(try AtomicFile.readText(path).contains("q/1"), "slashes are not escaped")
    }
}
