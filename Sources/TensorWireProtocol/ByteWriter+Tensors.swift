/// Tensor and Infer body encoding.
///
/// Server side, outputs go straight from engine buffers to the send buffer, never via
/// `[UInt8]`: call ``writeInferResponseHead(modelName:modelVersion:outputCount:)``, then once
/// per output either ``writeTensor(name:dataType:shape:bytes:payloadStart:)`` (copy from an
/// engine buffer) or ``writeTensor(name:dataType:shape:payloadStart:fill:)`` (let the engine
/// write into the frame in place). Exactly `outputCount` tensors must follow the head.
///
/// Shape/size mismatches here are programming errors and trap; check untrusted shapes first
/// with ``WireTensor/validate(dataType:shape:byteCount:maxRank:)``. Receivers re-validate anyway.
extension ByteWriter {
    /// Writes a tensor header (name, datatype, rank, dims, byte_length) and the padding that
    /// aligns the data. Exactly `byteLength` data bytes must be written next.
    public mutating func writeTensorHeader(name: String, dataType: TensorDataType, shape: [Int], byteLength: Int, payloadStart: Int) {
        precondition(shape.count <= MessageLimits.default.maxRank, "tensor rank exceeds 8")
        precondition(WireTensor.byteCount(dataType: dataType, shape: shape) == byteLength,
                     "tensor \(name): \(byteLength) bytes do not match shape \(shape) of \(dataType)")
        writeString(name)
        writeUInt8(dataType.rawValue)
        writeUInt8(UInt8(shape.count))
        for d in shape { writeInt64(Int64(d)) }
        writeUInt64(UInt64(byteLength))
        writePadding(payloadStart: payloadStart)
    }

    /// Writes a complete tensor, copying its data from `bytes` (e.g. an engine output buffer).
    public mutating func writeTensor(name: String, dataType: TensorDataType, shape: [Int], bytes: UnsafeRawBufferPointer, payloadStart: Int) {
        writeTensorHeader(name: name, dataType: dataType, shape: shape, byteLength: bytes.count, payloadStart: payloadStart)
        writeBytes(bytes)
    }

    /// Writes a complete tensor whose data `fill` produces directly in the send buffer
    /// (it receives exactly the tensor's byte size, 64-byte aligned relative to the payload).
    public mutating func writeTensor(name: String, dataType: TensorDataType, shape: [Int], payloadStart: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        guard let byteLength = WireTensor.byteCount(dataType: dataType, shape: shape) else {
            preconditionFailure("tensor \(name): invalid shape \(shape)")
        }
        writeTensorHeader(name: name, dataType: dataType, shape: shape, byteLength: byteLength, payloadStart: payloadStart)
        writeInPlace(byteLength, fill)
    }

    public mutating func writeTensor(_ tensor: WireTensor, payloadStart: Int) {
        tensor.data.withUnsafeBytes {
            writeTensor(name: tensor.name, dataType: tensor.dataType, shape: tensor.shape, bytes: $0, payloadStart: payloadStart)
        }
    }

    /// The Infer request body: string model_name, u64 model_version (0 = latest),
    /// u16 input_count + tensors, u16 requested_output_count + strings (none = all outputs).
    public mutating func writeInferRequest(modelName: String, modelVersion: UInt64, inputs: [WireTensor], requestedOutputs: [String], payloadStart: Int) {
        precondition(inputs.count <= MessageLimits.default.maxTensors && requestedOutputs.count <= MessageLimits.default.maxTensors)
        writeString(modelName)
        writeUInt64(modelVersion)
        writeUInt16(UInt16(inputs.count))
        for t in inputs { writeTensor(t, payloadStart: payloadStart) }
        writeUInt16(UInt16(requestedOutputs.count))
        for name in requestedOutputs { writeString(name) }
    }

    /// The part of an Infer response body before the tensors; follow it with exactly
    /// `outputCount` `writeTensor` calls.
    public mutating func writeInferResponseHead(modelName: String, modelVersion: UInt64, outputCount: Int) {
        precondition(outputCount >= 0 && outputCount <= MessageLimits.default.maxTensors, "output count out of range")
        writeString(modelName)
        writeUInt64(modelVersion)
        writeUInt16(UInt16(outputCount))
    }

    /// A complete Infer response body from owned tensors (tests, proxies).
    public mutating func writeInferResponse(modelName: String, modelVersion: UInt64, outputs: [WireTensor], payloadStart: Int) {
        writeInferResponseHead(modelName: modelName, modelVersion: modelVersion, outputCount: outputs.count)
        for t in outputs { writeTensor(t, payloadStart: payloadStart) }
    }
}
