import Foundation
import Testing

@testable import IAPCore

@Suite struct TensorBoardWriterTests {
    @Test func recordsAreFramedWithMaskedCRC32C() throws {
        #expect(TensorBoardWriter.crc32c(Array("123456789".utf8)) == 0xE306_9283)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-tb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try TensorBoardWriter(folder: folder)
        writer.write(step: 3, scalars: [("reward/mean", 0.5), ("nan", .nan)])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        // Walk the records and check both CRCs of each.
        var offset = 0
        var records = 0
        while offset < bytes.count {
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let lengthCRC = bytes[(offset + 8)..<(offset + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            #expect(lengthCRC == TensorBoardWriter.maskedCRC(lengthBytes))
            let data = Array(bytes[(offset + 12)..<(offset + 12 + Int(length))])
            let dataCRC = bytes[(offset + 12 + Int(length))..<(offset + 16 + Int(length))].withUnsafeBytes {
                $0.loadUnaligned(as: UInt32.self)
            }
            #expect(dataCRC == TensorBoardWriter.maskedCRC(data))
            if records == 0 { #expect(String(decoding: data, as: UTF8.self).contains("brain.Event:2")) }
            if records == 1 {
                #expect(
                    String(decoding: data, as: UTF8.self).contains("reward/mean") && !String(decoding: data, as: UTF8.self).contains("nan"))
            }
            offset += 16 + Int(length)
            records += 1
        }
        #expect(records == 2)
    }
}
