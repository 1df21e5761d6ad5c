/// The tensor data of a GGUF file: where each tensor's bytes are, checked against the file, and the
/// tensors as floats.
///
/// GGUF lists dimensions fastest-varying first (`ne[0]` is the length of a row), the reverse of
/// PyTorch's order: a `[ne0, ne1]` weight is the `[ne1, ne0]` matrix `W` of `y = W·x`.
extension GGUFFile {
    /// A tensor's type, shape (PyTorch order) and bytes, checked to lie inside the file.
    public struct TensorData {
        /// The tensor's entry in the file's table (name, GGUF dimensions, offset).
        public let info: TensorInfo
        /// The storage type of the bytes (F32, F16, Q8_0, Q4_K, …), decoded from `info.type`.
        public let type: GGMLType
        /// PyTorch order: the reverse of the GGUF dimensions.
        public let shape: [Int]
        /// The tensor's raw blocks inside the mapping, valid while the ``GGUFFile`` is alive.
        public let bytes: UnsafeRawBufferPointer
    }

    /// The tensor called `name`, or an error naming what is wrong (unknown name, unknown type, data
    /// past the end of the file, misaligned offset).
    public func data(_ name: String) throws(GGUFError) -> TensorData {
        guard let info = tensors.first(where: { $0.name == name }) else {
            throw GGUFError(path: path, "no tensor named \(name)")
        }
        return try data(info)
    }

    /// The bytes of `info`, checked.
    public func data(_ info: TensorInfo) throws(GGUFError) -> TensorData {
        guard let type = GGMLType(rawValue: info.type) else {
            throw GGUFError(path: path, "tensor \(info.name) has unknown type \(info.type)")
        }
        let elements = info.dimensions.reduce(1, *)
        guard let count = type.byteCount(elements: elements) else {
            throw GGUFError(path: path, "tensor \(info.name): \(elements) weights do not fill \(type.name) blocks of \(type.blockSize)")
        }
        guard info.offset % alignment == 0 else {
            throw GGUFError(path: path, "tensor \(info.name) starts at offset \(info.offset), not a multiple of the alignment \(alignment)")
        }
        let start = dataOffset + info.offset
        guard start <= file.size, count <= file.size - start, let base = file.base else {
            throw GGUFError(
                path: path, "truncated: tensor \(info.name) needs bytes \(start)..<\(start + count) but the file has \(file.size)")
        }
        return TensorData(
            info: info, type: type, shape: info.dimensions.reversed(),
            bytes: UnsafeRawBufferPointer(start: base + start, count: count))
    }

    /// The tensor called `name` as float32, dequantized (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
    /// Q4_K, Q5_K, Q6_K).
    public func floats(_ name: String) throws(GGUFError) -> Tensor {
        let d = try data(name)
        guard d.type.isSupported else { throw GGUFError(path: path, "tensor \(name) is \(d.type.name), which LMKit cannot read yet") }
        let out = Tensor.empty(d.shape, dtype: .float32)
        GGMLDequantize.dequantize(d.type, d.bytes.baseAddress!, count: out.count, into: out.pointer(Float.self))
        return withExtendedLifetime(file) { out }
    }

    /// Checks every tensor's bytes lie inside the file (``data(_:)`` for each).
    public func validateTensors() throws(GGUFError) {
        for info in tensors { _ = try data(info) }
    }
}
