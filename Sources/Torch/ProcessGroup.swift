import CTorch

#if canImport(Glibc)
    import Glibc
#endif

/// Where the ranks of a job meet: the TCPStore's address (served by rank 0) and this
/// process's place in the job — the variables torchrun and SLURM launchers set
/// (`MASTER_ADDR`, `MASTER_PORT`, `RANK`, `WORLD_SIZE`, `LOCAL_RANK`).
public struct Rendezvous: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var rank: Int
    public var worldSize: Int
    public var localRank: Int

    public init(host: String, port: Int, rank: Int, worldSize: Int, localRank: Int) {
        self.host = host
        self.port = port
        self.rank = rank
        self.worldSize = worldSize
        self.localRank = localRank
    }

    /// The job described by `environment`; nil when `WORLD_SIZE` is not set (a plain,
    /// single-process run). A set but wrong variable is an error naming it.
    /// This rank and where it meets the others, for errors.
    var place: String { "rank \(rank) of \(worldSize) at \(host):\(port)" }

    public static func fromEnvironment(_ environment: [String: String]) throws(TorchError) -> Rendezvous? {
        guard let worldText = environment["WORLD_SIZE"] else { return nil }
        func number(_ name: String, _ text: String?, range: ClosedRange<Int>) throws(TorchError) -> Int {
            guard let text else { throw problem("\(name) is not set (WORLD_SIZE is)") }
            guard let value = Int(text), range.contains(value) else {
                throw problem("\(name)=\(text) is not a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return value
        }
        let world = try number("WORLD_SIZE", worldText, range: 1...65_536)
        let rank = try number("RANK", environment["RANK"], range: 0...(world - 1))
        let local = try number("LOCAL_RANK", environment["LOCAL_RANK"] ?? "\(rank)", range: 0...(world - 1))
        let port = try number("MASTER_PORT", environment["MASTER_PORT"], range: 1...65_535)
        guard let host = environment["MASTER_ADDR"], !host.isEmpty else { throw problem("MASTER_ADDR is not set (WORLD_SIZE is)") }
        return Rendezvous(host: host, port: port, rank: rank, worldSize: world, localRank: local)
    }

    /// The variables a launcher gives rank `rank` of this job.
    public func environment(rank: Int, localRank: Int) -> [String: String] {
        ["MASTER_ADDR": host, "MASTER_PORT": "\(port)", "RANK": "\(rank)", "WORLD_SIZE": "\(worldSize)", "LOCAL_RANK": "\(localRank)"]
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice), for a job
    /// whose ranks all run on this machine. Another process may take it before rank 0 binds
    /// it; the rendezvous then fails with an error, never hangs.
    public static func freeLocalPort() throws(TorchError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw problem("no socket for a free port: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw problem("no free port on 127.0.0.1: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func problem(_ message: String) -> TorchError {
        TorchError(operation: "rendezvous (torchrun's variables)", message: message)
    }
}

/// How a collective combines the ranks' values.
public enum CollectiveOp: Int32, Sendable {
    case sum = 0, max = 1, min = 2
}

/// A c10d process group over Gloo (CPU tensors: a CUDA tensor is copied through the host) or
/// NCCL (CUDA tensors on the group's device, through iap's NCCL plugin): every rank calls
/// the same collectives in the same order; each one fails after the group's timeout — a
/// rank that died or hangs surfaces as an error here, never as a hang.
public final class ProcessGroup: @unchecked Sendable {
    let handle: ct_group
    public let rank: Int
    public let worldSize: Int
    public let timeoutSeconds: Double
    /// Where the group's collectives run: the CPU (Gloo) or one CUDA device (NCCL).
    public let device: Device

    /// Whether this build can make Gloo groups (its headers were there when it was built).
    public static var glooAvailable: Bool { ct_group_gloo_available() }

    /// Joins the job: rank 0 serves the store at `rendezvous.host:port` and waits for the
    /// others; every rank then connects to every other. `bindHost` is the address peers
    /// reach this rank at (nil: this machine's hostname, else loopback).
    public convenience init(gloo rendezvous: Rendezvous, timeoutSeconds: Double = 1800, bindHost: String? = nil) throws(TorchError) {
        let bind = bindHost ?? ""
        let handle = try RendezvousDeadline.group("process group", at: rendezvous.place, timeout: timeoutSeconds) {
            ct_group_gloo(
                rendezvous.host, Int32(rendezvous.port), Int32(rendezvous.rank), Int32(rendezvous.worldSize), bind, timeoutSeconds)
        }
        self.init(handle, rendezvous, timeoutSeconds: timeoutSeconds, device: .cpu)
    }

    /// Joins the job as `init(gloo:)` does, then makes an NCCL group on CUDA `device` through
    /// the NCCL plugin at `plugin` (gpu/libiap_nccl.so, built by scripts/build-nccl-plugin.sh
    /// against the CUDA build of PyTorch 2.11).
    public convenience init(nccl rendezvous: Rendezvous, device: Device, plugin: String, timeoutSeconds: Double = 1800) throws(TorchError) {
        guard case .cuda(let index) = device else {
            throw TorchError(operation: "NCCL process group", message: "NCCL needs a CUDA device, got \(device)")
        }
        let handle = try RendezvousDeadline.group("NCCL process group", at: rendezvous.place, timeout: timeoutSeconds) {
            ct_group_nccl(
                plugin, rendezvous.host, Int32(rendezvous.port), Int32(rendezvous.rank), Int32(rendezvous.worldSize), Int32(index),
                timeoutSeconds)
        }
        self.init(handle, rendezvous, timeoutSeconds: timeoutSeconds, device: device)
    }

    /// A group the shim made.
    init(_ handle: ct_group, _ rendezvous: Rendezvous, timeoutSeconds: Double, device: Device) {
        self.handle = handle
        rank = rendezvous.rank
        worldSize = rendezvous.worldSize
        self.timeoutSeconds = timeoutSeconds
        self.device = device
    }

    deinit { ct_group_free(handle) }

    var name: String { "rank \(rank) of \(worldSize)" }

    /// Every rank's `tensor` combined by `op`, in place.
    public func allReduce(_ tensor: Tensor, _ op: CollectiveOp = .sum) throws(TorchError) {
        try recordingFailure { () throws(TorchError) in
            try throughGroupDevice(tensor) { host throws(TorchError) in
                try checked("all-reduce (\(name))", ct_group_all_reduce(handle, host.handle, op.rawValue))
            }
        }
    }

    /// [worldSize, ...shape]: each rank's `tensor` (the same shape on every rank), in rank order.
    public func allGather(_ tensor: Tensor) throws(TorchError) -> Tensor {
        let host = try tensor.to(device).contiguous()
        let gathered = try recordingFailure { () throws(TorchError) in
            try withExtendedLifetime(host) { () throws(TorchError) in
                try owned("all-gather (\(name))", ct_group_all_gather(handle, host.handle))
            }
        }
        return try gathered.to(tensor.device)
    }

    /// `tensor` [worldSize · n, ...] combined across ranks by `op`; this rank's [n, ...] slice.
    public func reduceScatter(_ tensor: Tensor, _ op: CollectiveOp = .sum) throws(TorchError) -> Tensor {
        let host = try tensor.to(device).contiguous()
        let part = try recordingFailure { () throws(TorchError) in
            try withExtendedLifetime(host) { () throws(TorchError) in
                try owned("reduce-scatter (\(name))", ct_group_reduce_scatter(handle, host.handle, op.rawValue))
            }
        }
        return try part.to(tensor.device)
    }

    /// Starts summing (`op`) `tensor` across ranks and returns at once: the sum arrives in
    /// `tensor` when `wait()` returns. Leave `tensor` alone until then. Collectives started
    /// this way and the blocking ones are matched across ranks in the order they are called.
    public func startAllReduce(_ tensor: Tensor, _ op: CollectiveOp = .sum) throws(TorchError) -> PendingAllReduce {
        let host = try tensor.to(device).contiguous()
        let work = try recordingFailure { () throws(TorchError) -> ct_work in
            guard let work = withExtendedLifetime(host, { ct_group_all_reduce_start(handle, host.handle, op.rawValue) }) else {
                throw TorchError.last("all-reduce (\(name))")
            }
            return work
        }
        return PendingAllReduce(group: self, work: work, host: host, target: tensor)
    }

    /// `tensor` becomes rank `root`'s on every rank, in place.
    public func broadcast(_ tensor: Tensor, from root: Int = 0) throws(TorchError) {
        try recordingFailure { () throws(TorchError) in
            try throughGroupDevice(tensor) { host throws(TorchError) in
                try checked("broadcast from rank \(root) (\(name))", ct_group_broadcast(handle, host.handle, Int32(root)))
            }
        }
    }

    /// Each rank's bytes (any length), in rank order: torch's `all_gather_object` without
    /// pickle — the caller encodes (metrics, rollout records as JSON).
    public func allGatherBytes(_ bytes: [UInt8]) throws(TorchError) -> [[UInt8]] {
        let lengths = try allGather(try Tensor([bytes.count], shape: [1])).toArray(Int.self)
        let longest = lengths.max() ?? 0
        let padded = try Tensor(bytes + [UInt8](repeating: 0, count: longest - bytes.count), shape: [longest])
        let all = try allGather(padded).toArray(UInt8.self)
        return lengths.enumerated().map { r, n in Array(all[(r * longest)..<(r * longest + n)]) }
    }

    /// Returns when every rank has called it.
    public func barrier() throws(TorchError) {
        try recordingFailure { () throws(TorchError) in try checked("barrier (\(name))", ct_group_barrier(handle)) }
    }

    /// The first collective that failed (its error), nil while none has: after one, the
    /// group is broken (a rank died or hangs) and `rollCall` tells which.
    public private(set) var failure: TorchError?

    func recordingFailure<T>(_ body: () throws(TorchError) -> T) throws(TorchError) -> T {
        do { return try body() } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    /// Which ranks are still running, after a collective failed: every surviving rank calls
    /// this with the same `tag` (the step) and each marks itself in the rendezvous store,
    /// then looks for the others for up to `waitSeconds`. `[rank: present]`, in rank order.
    /// Throws when the store is unreachable: rank 0, which serves it, is gone.
    public func rollCall(tag: String, waitSeconds: Double) throws(TorchError) -> [Bool] {
        var present = [UInt8](repeating: 0, count: worldSize)
        try checked("roll call (\(name))", ct_group_roll_call(handle, tag, waitSeconds, &present))
        return present.map { $0 != 0 }
    }

    /// Runs an in-place collective on a contiguous tensor on the group's device holding
    /// `tensor`'s values and copies the result back (a no-op when that tensor is `tensor`
    /// itself: a contiguous one on the group's device).
    func throughGroupDevice(_ tensor: Tensor, _ body: (Tensor) throws(TorchError) -> Void) throws(TorchError) {
        let host = try tensor.to(device).contiguous()
        try withExtendedLifetime(host) { () throws(TorchError) in
            try body(host)
            try tensor.copy_(host)
        }
    }
}

/// An all-reduce in flight (`ProcessGroup.startAllReduce`).
public final class PendingAllReduce: @unchecked Sendable {
    let group: ProcessGroup
    var work: ct_work?
    /// The contiguous CPU tensor Gloo reduces, and where the result goes (the same tensor
    /// when that was already contiguous on the CPU).
    let host: Tensor
    let target: Tensor

    init(group: ProcessGroup, work: ct_work, host: Tensor, target: Tensor) {
        self.group = group
        self.work = work
        self.host = host
        self.target = target
    }

    /// Waits for the sum (at most the group's timeout) and leaves it in the tensor.
    public func wait() throws(TorchError) {
        guard let work else { return }
        self.work = nil
        defer { ct_work_free(work) }
        try group.recordingFailure { () throws(TorchError) in
            try checked("all-reduce (\(group.name))", ct_work_wait(work))
            try target.copy_(host)
        }
    }

    deinit {
        // Never left running: the tensor it writes into would be freed under it.
        if let work {
            _ = ct_work_wait(work)
            ct_work_free(work)
        }
    }
}
