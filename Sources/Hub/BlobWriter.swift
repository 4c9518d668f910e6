import AsyncHTTPClient
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// Streams a download's body into `<blob>.incomplete`, hashing as it goes: appended to what an
/// interrupted attempt left when the server answers the `Range` with 206, started over when it
/// answers 200. Called on NIO's event loop, then `finish` on the caller's thread after the
/// request's future completed (which orders the two).
final class BlobWriter: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    let path: String
    /// "config.json of org/name", for errors.
    let file: String
    private var handle: UnsafeMutablePointer<FILE>?
    private var hasher = SHA256()
    private(set) var resumedBytes = 0
    private var written = 0
    /// Told of the bytes written so far as they arrive.
    var progress: DownloadProgress?

    init(path: String, file: String) throws(HubError) {
        self.path = path
        self.file = file
        if let existing = fopen(path, "rb") {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = fread(&buffer, 1, buffer.count, existing)
                if count == 0 { break }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                resumedBytes += count
            }
            fclose(existing)
        }
        written = resumedBytes
        guard let opened = fopen(path, "ab") else {
            throw HubError("\(file): cannot write \(path): \(String(cString: strerror(errno)))")
        }
        handle = opened
    }

    deinit { if let handle { fclose(handle) } }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        switch head.status.code {
        case 206: break
        case 200 where resumedBytes > 0:
            // The server ignored the range: start the file over.
            if let handle { fclose(handle) }
            handle = fopen(path, "wb")
            (hasher, written, resumedBytes) = (SHA256(), 0, 0)
        case 200: break
        default:
            return task.eventLoop.makeFailedFuture(HubError("\(file): the download answered HTTP \(head.status.code)"))
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard let handle else { return task.eventLoop.makeFailedFuture(HubError("\(file): cannot write \(path)")) }
        let ok = buffer.withUnsafeReadableBytes { bytes -> Bool in
            hasher.update(bytes)
            return fwrite(bytes.baseAddress, 1, bytes.count, handle) == bytes.count
        }
        guard ok else {
            return task.eventLoop.makeFailedFuture(HubError("\(file): writing \(path) failed: \(String(cString: strerror(errno)))"))
        }
        written += buffer.readableBytes
        progress?.update(written)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}

    /// Closes the file and checks its length and SHA-256; a file that fails is deleted (its
    /// bytes are wrong, not short) and the error names it.
    func finish(expectedSize: Int?, sha256: String?) throws(HubError) {
        progress?.finish(written)
        if let handle {
            let flushed = fflush(handle) == 0 && fsync(fileno(handle)) == 0
            fclose(handle)
            self.handle = nil
            guard flushed else { throw HubError("\(file): writing \(path) failed: \(String(cString: strerror(errno)))") }
        }
        if let expectedSize, written < expectedSize {
            throw HubError("\(file): the download ended at \(written) of \(expectedSize) bytes; run the command again to continue it")
        }
        if let expectedSize, written > expectedSize {
            unlink(path)
            throw HubError("\(file): \(written) bytes arrived where the Hub said \(expectedSize); the file was deleted")
        }
        if let sha256 {
            let digest = hasher.hexDigest()
            guard digest == sha256 else {
                unlink(path)
                throw HubError(
                    "\(file): the downloaded bytes have SHA-256 \(digest), the Hub says \(sha256); the file was deleted, nothing was cached"
                )
            }
        }
    }
}
