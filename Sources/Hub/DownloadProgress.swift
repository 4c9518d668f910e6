import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file's download progress — bytes, rate, ETA — every two seconds: one line rewritten in
/// place on a terminal, a plain line through `log` otherwise (a job's log file). Fed from
/// NIO's event loop as bytes arrive.
final class DownloadProgress: @unchecked Sendable {
    let file: String
    let total: Int?
    let resumed: Int
    let log: (String) -> Void
    let terminal: Bool
    let started: Double
    private var lastShown: Double
    private var shownOnTerminal = false

    init(file: String, total: Int?, resumed: Int, log: @escaping (String) -> Void, terminal: Bool = isatty(STDOUT_FILENO) == 1) {
        (self.file, self.total, self.resumed, self.log, self.terminal) = (file, total, resumed, log, terminal)
        started = Self.now()
        lastShown = started
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// `written`: bytes in the file so far (what an earlier attempt left included).
    func update(_ written: Int) {
        let now = Self.now()
        guard now - lastShown >= 2 else { return }
        lastShown = now
        show(line(written, now))
    }

    /// Ends the terminal's line (plain logs need nothing).
    func finish(_ written: Int) {
        guard terminal, shownOnTerminal else { return }
        show(line(written, Self.now()))
        Self.writeOut("\n")
    }

    private func show(_ text: String) {
        guard terminal else { return log(text) }
        Self.writeOut("\r\u{1B}[K" + text)
        shownOnTerminal = true
    }

    /// Straight to the terminal (print's line buffer would hold a line without its newline).
    static func writeOut(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }

    func line(_ written: Int, _ now: Double) -> String {
        let rate = Double(written - resumed) / max(now - started, 1e-3)
        var text = "\(file): \(Self.megabytes(written))"
        if let total, total > 0 {
            text += " of \(Self.megabytes(total)) (\(min(100, written * 100 / total))%)"
            if rate > 0 { text += ", ETA \(Int((Double(total - written) / rate).rounded())) s" }
        }
        return text + String(format: ", %.1f MB/s", rate / 1e6)
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
