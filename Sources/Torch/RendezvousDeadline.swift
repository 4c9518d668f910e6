import CTorch
import Foundation

/// Bounds the making of a process group by the job's timeout, whatever the other end does.
/// libtorch applies `timeout` to connecting and to its store's waits, but a rank whose master
/// port is held by something that accepts connections and never answers (not a TCPStore)
/// blocks in a socket read with no deadline: the probe saw a rank silent for minutes with
/// `dist.timeout_s: 20`. The shim call runs on a thread of its own; past the deadline the
/// caller gets an error (and exits); the abandoned thread frees whatever it makes later.
enum RendezvousDeadline {
    /// Beyond libtorch's own timeout, so its more precise message wins when it comes: at least
    /// 15 s more, since on a loaded machine its last connection retry lands seconds late (a CI
    /// run saw this deadline, then 8 s, pass first with `dist.timeout_s: 3`).
    static func seconds(for timeout: Double) -> Double { timeout + min(30, max(15, timeout * 0.1)) }

    /// `make`'s group, or its error (read on its own thread: the shim's last error is
    /// per thread), or an error naming `where` once `timeout` plus a grace has passed.
    static func group(_ what: String, at place: String, timeout: Double, _ make: @escaping @Sendable () -> ct_group?) throws(TorchError)
        -> ct_group
    {
        let outcome = Outcome()
        let thread = Thread {
            let handle = make()
            let error = handle == nil ? String(cString: ct_last_error()) : ""
            outcome.finish(handle, error)
        }
        thread.stackSize = 8 << 20
        thread.start()
        let waited = seconds(for: timeout)
        guard outcome.done.wait(timeout: .now() + waited) == .success else {
            outcome.abandon()
            throw TorchError(
                operation: "\(what) (\(place))",
                message: "no rendezvous within \(Int(waited)) s (dist.timeout_s = \(timeout) plus a grace): what listens at the "
                    + "master address does not answer as rank 0's store does (another program on MASTER_PORT?), or rank 0 is stuck")
        }
        guard let handle = outcome.handle else { throw TorchError(operation: "\(what) (\(place))", message: outcome.error) }
        return handle
    }

    /// What the making thread leaves for the waiting one.
    private final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var abandoned = false
        private(set) var handle: ct_group?
        private(set) var error = ""

        func finish(_ made: ct_group?, _ message: String) {
            lock.lock()
            defer { lock.unlock() }
            if abandoned {
                if let made { ct_group_free(made) }
                return
            }
            (handle, error) = (made, message)
            done.signal()
        }

        func abandon() {
            lock.lock()
            abandoned = true
            lock.unlock()
        }
    }
}
