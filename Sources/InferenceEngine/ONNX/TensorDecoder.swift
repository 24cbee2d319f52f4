/// Turns a parsed `TensorProto` into a ``Tensor``, validating the declared size against the
/// bytes actually present *before* allocating anything.
enum TensorDecoder {
    static func decode(_ proto: TensorProtoIR, what: String, external: ExternalDataReader? = nil) throws(ModelLoadError) -> Tensor {
        func fail(_ reason: String) -> ModelLoadError { ModelLoadError("\(what): \(reason)") }
        var proto = proto
        let isExternal = proto.hasExternalData || proto.dataLocation == 1
        guard proto.dims.count <= ONNXLimits.maxRank else {
            throw fail("has \(proto.dims.count) dimensions; at most \(ONNXLimits.maxRank) dimensions are supported")
        }
        var shape: [Int] = []
        for d in proto.dims {
            guard d >= 0 else { throw fail("negative dimension \(d)") }
            guard d <= Int64(ONNXLimits.maxTensorElements) else {
                throw fail("dimension \(d) exceeds the \(ONNXLimits.maxTensorElements)-element limit")
            }
            shape.append(Int(d))
        }
        guard let count = ShapeMath.elementCount(shape, limit: ONNXLimits.maxTensorElements) else {
            throw fail("declared shape \(shape.shapeDescription) exceeds the \(ONNXLimits.maxTensorElements)-element limit")
        }
        guard let type = ElementType(onnxDataType: proto.dataType) else {
            throw fail("unsupported data type \(proto.dataType)")
        }
        if isExternal {
            guard proto.dataLocation == 1 else { throw fail("has external_data entries but data_location is not EXTERNAL") }
            guard let external else {
                throw fail("uses external data, which needs the model's directory (load the model from a file path)")
            }
            guard let width = type.byteWidth, TensorStorage.supportedTypes.contains(type) else {
                throw fail("external data of type \(type.onnxName) is not supported")
            }
            proto.rawData = try external.read(proto.externalData, expectedBytes: count * width, what: what)[...]
        }

        switch type {
        case .float32:
            if let raw = proto.rawData {
                guard raw.count == count * 4 else {
                    throw fail("raw_data has \(raw.count) bytes, expected \(count * 4) for shape \(shape.shapeDescription) of FLOAT")
                }
                let values = raw.withUnsafeBytes { bytes in
                    [Float](uninitializedCount: count) { buffer, initialized in
                        for i in 0..<count {
                            buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                        }
                        initialized = count
                    }
                }
                return Tensor(shape: shape, storage: .float32(values))
            }
            guard proto.floatData.count == count else {
                throw fail("float_data has \(proto.floatData.count) values, expected \(count) for shape \(shape.shapeDescription)")
            }
            return Tensor(shape: shape, storage: .float32(proto.floatData))
        case .bool:
            if let raw = proto.rawData {
                guard raw.count == count else { throw fail("raw_data has \(raw.count) bytes, expected \(count) for shape \(shape.shapeDescription) of BOOL") }
                return Tensor(shape: shape, storage: .bool(raw.map { $0 != 0 }))
            }
            guard proto.int32Data.count == count else {
                throw fail("int32_data has \(proto.int32Data.count) values, expected \(count) for shape \(shape.shapeDescription)")
            }
            return Tensor(shape: shape, storage: .bool(proto.int32Data.map { $0 != 0 }))
        case .int64, .int32:
            let width = type == .int64 ? 8 : 4
            if let raw = proto.rawData {
                guard raw.count == count * width else {
                    throw fail("raw_data has \(raw.count) bytes, expected \(count * width) for shape \(shape.shapeDescription) of \(type.onnxName)")
                }
                let values: [Int64] = raw.withUnsafeBytes { bytes in
                    (0..<count).map { i in
                        width == 8
                            ? Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                            : Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                    }
                }
                let storage = TensorStorage.int64(values)
                return Tensor(shape: shape, storage: type == .int32 ? storage.cast(to: .int32) : storage)
            }
            let values = type == .int64 ? proto.int64Data : proto.int32Data.map(Int64.init)
            guard values.count == count else {
                let field = type == .int64 ? "int64_data" : "int32_data"
                throw fail("\(field) has \(values.count) values, expected \(count) for shape \(shape.shapeDescription)")
            }
            let storage = TensorStorage.int64(values)
            return Tensor(shape: shape, storage: type == .int32 ? storage.cast(to: .int32) : storage)
        default:
            throw fail("data type \(type.onnxName) is not supported (FLOAT, INT64, INT32 and BOOL tensors are)")
        }
    }
}
