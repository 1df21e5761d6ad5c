#if canImport(Glibc)
    import Glibc
#endif

/// A whole file mapped into memory, copy-on-write: reads come straight from the page cache, and a
/// tensor that borrows the mapping may be updated in place (an optimizer step) without touching the file.
public final class MappedFile: @unchecked Sendable {
    /// The first byte of the mapping (nil for an empty file).
    public let base: UnsafeMutableRawPointer?
    /// File size in bytes.
    public let size: Int
    /// The path that was mapped.
    public let path: String

    /// Maps `path`; throws ``FileError`` naming the path and the system error.
    public init(path: String) throws(FileError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path, reason: "not a regular file") }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))") }
        base = p
    }

    deinit {
        if let base { munmap(base, size) }
    }
}

/// An I/O failure on a named file.
public struct FileError: Error, CustomStringConvertible, Sendable {
    /// The file the operation was on.
    public let path: String
    /// What failed: the system error message, or the step (`mmap`, `fsync`, `rename`) and its error.
    public let reason: String
    /// `path: reason`, for error messages.
    public var description: String { "\(path): \(reason)" }
}

/// Writes files atomically: into a temporary file in the same folder, flushed, then renamed over
/// the destination, so a reader never sees a half-written file and a crash loses nothing.
public enum AtomicFile {
    /// Writes the byte chunks produced by `body` (called with a write function) to `path`.
    /// Errors are ``FileError``s, or whatever `body` throws (the temporary file is then removed).
    public static func write(to path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
        var closed = false
        defer {
            if !closed { close(fd); unlink(temp) }
        }
        try body { (chunk: UnsafeRawBufferPointer) throws in
            // At most 1 MiB per call: one write of a 100 MB tensor runs at a fifth of the speed of the
            // same bytes in 1 MiB writes here (measured with dd: 330 MB/s against 1.7 GB/s).
            var done = 0
            while done < chunk.count {
                let n = Glibc.write(fd, chunk.baseAddress! + done, min(chunk.count - done, 1 << 20))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw FileError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
        close(fd)
        closed = true
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw FileError(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { emit in try bytes.withUnsafeBytes { try emit($0) } }
    }
}
