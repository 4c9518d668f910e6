import FileIO
import Foundation
import Testing

/// Issue 29: one writer per run folder. `flock` locks belong to an open file description, so
/// two `FolderLock`s in one process conflict just as two processes do.
@Suite struct FolderLockTests {
    @Test func aSecondClaimIsRefusedNamingTheHolder() throws {
        let path = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try FolderLock(folder: path, purpose: "run folder")
        #expect(throws: FileIOError.self) { _ = try FolderLock(folder: path, purpose: "run folder") }
        do {
            _ = try FolderLock(folder: path, purpose: "run folder")
        } catch {
            #expect("\(error)".contains("this run folder is in use by process \(getpid())"), "\(error)")
        }
        withExtendedLifetime(first) {}
    }

    @Test func theLockEndsWithItsHolder() throws {
        let path = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { _ = try FolderLock(folder: path, purpose: "run folder") }
        let again = try FolderLock(folder: path, purpose: "run folder")
        #expect(try String(contentsOfFile: again.path, encoding: .utf8) == "\(getpid())\n")
    }
}
