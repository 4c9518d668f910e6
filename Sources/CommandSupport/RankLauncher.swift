#if canImport(Glibc)
    import Glibc
#endif
import Torch

/// `--nproc-per-node N`: starts N copies of this program as the ranks of one job on this
/// machine, with torchrun's variables (`MASTER_ADDR=127.0.0.1`, a free `MASTER_PORT`,
/// `RANK`, `LOCAL_RANK`, `WORLD_SIZE`), and watches them. When a rank fails, the others are
/// stopped (SIGTERM, then SIGKILL after a grace period) and the launcher says which rank
/// failed and how; Ctrl-C (SIGINT) is passed on to every rank, which save a checkpoint
/// after the step in flight and stop together. Each rank runs in its own process group, so
/// a terminal's Ctrl-C reaches the launcher alone and every rank hears it exactly once (a
/// second SIGINT makes a rank quit at once); a rank whose launcher is gone (killed) stops
/// after its step (`IAP_LAUNCHER_PID`, checked by the training loop).
public enum RankLauncher {
    public struct Outcome: Sendable {
        /// The exit status to leave with: 0 when every rank succeeded, else the first failure's.
        public let status: Int32
        /// What happened to the first rank that failed; nil when none did.
        public let failure: String?
    }

    /// Runs `arguments` (the program's own, without `--nproc-per-node`) as `ranks` ranks.
    public static func run(ranks: Int, arguments: [String], graceSeconds: Double = 10) throws(TorchError) -> Outcome {
        let port = try Rendezvous.freeLocalPort()
        let job = Rendezvous(host: "127.0.0.1", port: port, rank: 0, worldSize: ranks, localRank: 0)
        let program = "/proc/self/exe"
        let name = CommandLine.arguments.first ?? program
        var children: [pid_t] = []
        // Like torchrun: the ranks share the cores (unless OMP_NUM_THREADS says otherwise), or
        // N ranks × all cores of intra-op threads oversubscribe the machine many times over.
        var shared: [String: String] = [:]
        if getenv("OMP_NUM_THREADS") == nil { shared["OMP_NUM_THREADS"] = "\(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)) / ranks))" }
        shared[launcherVariable] = "\(getpid())"
        for rank in 0..<ranks {
            let extra = job.environment(rank: rank, localRank: rank).merging(shared) { a, _ in a }
            guard let pid = spawn(program, name: name, arguments: arguments, extra: extra) else {
                for pid in children { kill(pid, SIGKILL) }
                throw TorchError(operation: "launch", message: "could not start rank \(rank) (\(program)): errno \(errno)")
            }
            children.append(pid)
        }
        return watch(children, graceSeconds: graceSeconds)
    }

    /// Waits for every rank; stops the rest when one fails; passes SIGINT on.
    static func watch(_ children: [pid_t], graceSeconds: Double) -> Outcome {
        signal(SIGINT) { _ in launcherInterrupts += 1 }
        var running = Set(children.indices)
        var failure: (rank: Int, status: Int32, text: String)?
        var forwarded = 0
        var stopDeadline: Double?
        while !running.isEmpty {
            if launcherInterrupts > forwarded {
                forwarded = Int(launcherInterrupts)
                for r in running { kill(children[r], SIGINT) }
            }
            for r in running {
                var status: Int32 = 0
                guard waitpid(children[r], &status, WNOHANG) == children[r] else { continue }
                running.remove(r)
                let (code, text) = describe(status)
                // After Ctrl-C, ranks leave with 130 once their checkpoint is saved: expected.
                let interrupted = forwarded > 0 && code == 130
                if code != 0 && !interrupted && failure == nil && stopDeadline == nil {
                    failure = (r, code, "rank \(r) \(text)")
                    for other in running { kill(children[other], SIGTERM) }
                    stopDeadline = now() + graceSeconds
                }
            }
            if let deadline = stopDeadline, now() > deadline {
                for r in running { kill(children[r], SIGKILL) }
            }
            usleep(50_000)
        }
        return Outcome(status: failure?.status ?? (forwarded > 0 ? 130 : 0), failure: failure?.text)
    }

    /// `arguments` without `--nproc-per-node N` (or `--nproc-per-node=N`): what each rank runs.
    public static func rankArguments(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var skipNext = false
        for a in arguments {
            if skipNext { skipNext = false; continue }
            if a == "--nproc-per-node" { skipNext = true; continue }
            if a.hasPrefix("--nproc-per-node=") { continue }
            out.append(a)
        }
        return out
    }

    /// The exit code a shell would report, and the status in words.
    static func describe(_ status: Int32) -> (Int32, String) {
        let signalNumber = status & 0x7f
        if signalNumber == 0 {
            let code = (status >> 8) & 0xff
            return (code, "exited with status \(code)")
        }
        return (128 + signalNumber, "was killed by signal \(signalNumber) (\(String(cString: strsignal(signalNumber))))")
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Starts `program` with this process's environment plus `extra`, sharing its stdout and stderr.
    static func spawn(_ program: String, name: String, arguments: [String], extra: [String: String]) -> pid_t? {
        let environment = CLI.environment.merging(extra) { $1 }
        let argv = ([name] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)  // a group of its own
        var pid: pid_t = 0
        return posix_spawn(&pid, program, &actions, &attributes, argv, envp) == 0 ? pid : nil
    }
}

extension RankLauncher {
    /// Set in every rank's environment: the launcher's process id.
    public static let launcherVariable = "IAP_LAUNCHER_PID"

    /// In a rank started by a launcher: asks the kernel for SIGTERM when the launcher dies
    /// (`PR_SET_PDEATHSIG`), at any point of the rank's life — loading models, waiting at
    /// the rendezvous, inside a step — and quits at once if it is already gone. Called first
    /// thing, so a killed launcher never leaves ranks behind. The launcher spawns its ranks
    /// from the thread that then waits for them, so the signal comes only when it is gone.
    public static func endWithLauncher() {
        guard let text = getenv(launcherVariable), let pid = Int32(String(cString: text)) else { return }
        _ = Torch.setParentDeathSignal(SIGTERM)
        if getppid() != pid { _exit(143) }
    }

    /// The most ranks `--nproc-per-node` starts without `--oversubscribe`: one per core on
    /// the CPU (each rank needs at least one core, and memory for its own model), one per
    /// GPU on CUDA.
    public static func rankLimit(cuda: Bool) -> Int {
        cuda ? Device.cudaDeviceCount : max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// True in a rank whose launcher has gone (it is no longer this process's parent).
    public static var launcherIsGone: Bool {
        guard let text = getenv(launcherVariable), let pid = Int32(String(cString: text)) else { return false }
        return getppid() != pid
    }
}

/// SIGINTs the launcher received (the handler only counts; the watch loop passes them on).
nonisolated(unsafe) var launcherInterrupts: sig_atomic_t = 0
