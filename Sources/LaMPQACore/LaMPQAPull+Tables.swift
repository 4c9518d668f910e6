import FileIO
import Foundation
import Parquet

extension LaMPQAPull {
    /// One table from its source files into `folder/{Configuration}_{split}.json`: written
    /// beside it first, every record checked as `iap` reads it and counted, then moved into
    /// place, so a file of the final name is always complete and checked.
    func write(_ table: LaMPQASourceFiles.Table, from files: [String], to folder: String) throws(LaMPQAPullError) -> Int {
        let final = folder + "/" + table.fileName
        let staged = folder + "/.partial-" + table.fileName
        let step = "writing \(final)"
        defer { unlink(staged) }
        do {
            let writer = try AtomicFileWriter(path: staged)
            var count = 0
            try writer.write(Array("[\n".utf8))
            for file in files {
                try Self.records(of: file) { (record) throws(LaMPQAPullError) in
                    do throws(FileIOError) { try writer.write(Array((count == 0 ? "" : ",\n").utf8) + record) } catch {
                        throw LaMPQAPullError(step: step, reason: error.reason)
                    }
                    count += 1
                }
            }
            try writer.write(Array("\n]\n".utf8))
            try writer.commit()
        } catch let error as FileIOError {
            throw LaMPQAPullError(step: step, reason: error.reason)
        } catch let error as LaMPQAPullError {
            throw error
        } catch {
            throw LaMPQAPullError(step: step, reason: "\(error)")
        }
        let count = try check(staged, table: table, final: final)
        guard rename(staged, final) == 0 else {
            throw LaMPQAPullError(step: step, reason: "cannot move it into place: \(FileIOError.systemReason)")
        }
        return count
    }

    /// Reads the staged file as `LaMPQADataset` does and compares its size with the benchmark's.
    private func check(_ staged: String, table: LaMPQASourceFiles.Table, final: String) throws(LaMPQAPullError) -> Int {
        let slots: [RecordSlot]
        do { slots = try RecordSlot.read(staged) } catch { throw LaMPQAPullError(step: "checking \(final)", reason: error.description) }
        for (index, slot) in slots.enumerated() {
            do { _ = try slot.record(index: index, file: final, domain: table.domain) } catch {
                throw LaMPQAPullError(step: "checking \(final)", reason: error.description)
            }
        }
        if let expected = expectedCounts[table], expected != slots.count {
            let short = slots.count < expected ? "short: a partial conversion or an incomplete upload?" : "more than the benchmark's"
            throw LaMPQAPullError(
                step: "checking \(final)",
                reason: "\(slots.count) records where LaMP-QA's \(table.domain.rawValue) \(table.split.rawValue) has \(expected) (\(short))"
            )
        }
        return slots.count
    }

    /// Each record of a source file as JSON text: Parquet rows (row group by row group),
    /// JSON Lines' lines, or a JSON array's elements.
    static func records(of file: String, _ emit: ([UInt8]) throws(LaMPQAPullError) -> Void) throws(LaMPQAPullError) {
        let step = "reading \(file)"
        if file.hasSuffix(".parquet") {
            do {
                let table = try ParquetFile(path: file)
                for group in 0..<table.rowGroupCount {
                    for row in try table.rows(inRowGroup: group) { try emit(row.jsonText) }
                }
            } catch let error as FileIOError {
                throw LaMPQAPullError(step: step, reason: error.reason)
            } catch let error as LaMPQAPullError {
                throw error
            } catch {
                throw LaMPQAPullError(step: step, reason: "\(error)")
            }
            return
        }
        let lines: [(number: Int, text: Substring)]
        if file.hasSuffix(".jsonl") {
            do { lines = try JSONLinesFile.lines(file) } catch { throw LaMPQAPullError(step: step, reason: error.reason) }
            for line in lines { try emit(Array(line.text.utf8)) }
            return
        }
        let items: [Any]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw LaMPQAPullError(step: step, reason: "expected a JSON array of records")
            }
            items = array
        } catch let error as LaMPQAPullError {
            throw error
        } catch {
            throw LaMPQAPullError(step: step, reason: "not valid JSON (\(error.localizedDescription))")
        }
        for item in items {
            do { try emit(Array(try JSONSerialization.data(withJSONObject: item))) } catch let error as LaMPQAPullError {
                throw error
            } catch {
                throw LaMPQAPullError(step: step, reason: "a record cannot be written back as JSON (\(error))")
            }
        }
    }
}
