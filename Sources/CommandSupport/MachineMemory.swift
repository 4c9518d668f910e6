import Foundation

/// The memory a job can plan with: each GPU as nvidia-smi reports it, and the machine's RAM.
public enum MachineMemory {
    public struct GPU: Sendable, Equatable {
        public var index: Int
        public var name: String
        public var memoryBytes: Int
        public var driver: String
        public init(index: Int, name: String, memoryBytes: Int, driver: String) {
            (self.index, self.name, self.memoryBytes, self.driver) = (index, name, memoryBytes, driver)
        }
    }

    /// Every GPU nvidia-smi lists (none without a driver).
    public static func gpus() -> [GPU] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return [] }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// nvidia-smi's CSV without units: `0, NVIDIA H100 80GB HBM3, 81559, 570.86` (MiB).
    public static func parse(_ text: String) -> [GPU] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 4, let index = Int(fields[0]), let mib = Int(fields[2]) else { return nil }
            return GPU(index: index, name: fields[1], memoryBytes: mib << 20, driver: fields[3])
        }
    }

    /// `MemTotal` of /proc/meminfo.
    public static func hostBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
}
