import LMKitTensor

/// Reads NumPy `.npy` files (format versions 1–3): the magic string, a header dict with `descr`,
/// `fortran_order` and `shape`, then the raw data. Float32 (`<f4`) and float64 (`<f8`) arrays load
/// zero-copy from a memory map; Fortran-order arrays become transposed views, not copies.
public enum NumpyArray {
    /// Loads the 1-D or 2-D float32/float64 array at `path` as a tensor backed by a memory map of the file.
    public static func load(_ path: String) throws(WordVectorsError) -> Tensor {
        func fail(_ problem: String) -> WordVectorsError { WordVectorsError(path: path, problem: problem) }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw fail(error.reason) }
        guard file.size >= 10, let base = file.base else { throw fail("too small to be a .npy file (\(file.size) bytes)") }
        let bytes = UnsafeRawBufferPointer(start: base, count: file.size)
        guard Array(bytes[0..<6]) == [0x93] + Array("NUMPY".utf8) else { throw fail("not a .npy file (bad magic)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard file.size >= 12 else { throw fail("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail(".npy format version \(major) is not supported (1, 2, 3 are)")
        }
        guard headerStart + headerLength <= file.size else { throw fail("header runs past the end of the file") }
        guard let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw fail("header is not text")
        }
        let descr = try value(of: "descr", in: header, path: path)
        let dtype: DType
        switch descr.trimmingQuotes {
        case "<f4", "=f4", "|f4": dtype = .float32
        case "<f8", "=f8": dtype = .float64
        default: throw fail("dtype \(descr) is not supported (little-endian float32 or float64)")
        }
        let fortran = try value(of: "fortran_order", in: header, path: path) == "True"
        let shapeText = try value(of: "shape", in: header, path: path)
        let dims = shapeText.filter { "0123456789,".contains($0) }.split(separator: ",").compactMap { Int($0) }
        guard dims.count == 2 || dims.count == 1 else { throw fail("shape \(shapeText): only 1-D and 2-D arrays are read") }
        var count = 1
        for d in dims {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shapeText) overflows") }
            count = c
        }
        let dataStart = headerStart + headerLength
        guard count * dtype.byteSize == file.size - dataStart else {
            throw fail(
                "shape \(shapeText) needs \(count * dtype.byteSize) bytes of data, the file has \(file.size - dataStart): truncated or corrupt"
            )
        }
        let storage = TensorStorage(borrowing: base + dataStart, byteCount: count * dtype.byteSize, owner: file)
        let stored = Tensor(storage: storage, shape: fortran ? dims.reversed() : dims, dtype: dtype)
        return fortran && dims.count == 2 ? stored.transposed() : stored
    }

    /// The text of `key`'s value in the header dict (up to the next top-level comma or brace).
    static func value(of key: String, in header: String, path: String) throws(WordVectorsError) -> String {
        guard let range = header.firstRange(of: "'\(key)':") else {
            throw WordVectorsError(path: path, problem: "header has no '\(key)'")
        }
        var depth = 0
        var out = ""
        for ch in header[range.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if depth == 0 && (ch == "," || ch == "}") { break }
            out.append(ch)
        }
        return out.trimmingCharacters(in: " ")
    }
}

extension String {
    var trimmingQuotes: String { trimmingCharacters(in: " '\"") }

    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
