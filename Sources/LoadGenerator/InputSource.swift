import TensorWireClient
import TensorWireProtocol

/// The input tensors of each request, prepared before the run so that sending a request never
/// generates or reads data: request `n` uses set `n mod count`.
public struct InputSource: Sendable {
    /// The prepared input sets; each is a complete `inputs:` argument for one Infer call.
    public let sets: [[WireTensor]]

    public init(sets: [[WireTensor]]) {
        precondition(!sets.isEmpty, "an input source needs at least one input set")
        self.sets = sets
    }

    /// The inputs of request number `n`.
    @inline(__always)
    public func inputs(for n: Int) -> [WireTensor] { sets[n % sets.count] }

    /// Error in building inputs (unusable metadata, missing or malformed files).
    public struct InputError: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Random tensors shaped like the model's declared inputs.
    ///
    /// A variable first dimension (-1) becomes `batchSize`, other variable dimensions become 1
    /// unless `shapeOverrides[name]` gives the whole shape. `variants` distinct sets are drawn
    /// (so a server-side cache cannot make every request identical) with a fixed seed, so runs
    /// are reproducible.
    public static func random(
        metadata: ModelMetadataResponse, batchSize: Int = 1, shapeOverrides: [String: [Int]] = [:],
        variants: Int = 16, seed: UInt64 = 0x5EED
    ) throws(InputError) -> InputSource {
        guard !metadata.inputs.isEmpty else { throw InputError("model \(metadata.name) declares no inputs") }
        var generator = SplitMix64(seed: seed)
        var sets: [[WireTensor]] = []
        for _ in 0..<max(1, variants) {
            var set: [WireTensor] = []
            for spec in metadata.inputs {
                let shape = try resolvedShape(spec, batchSize: batchSize, override: shapeOverrides[spec.name])
                guard let byteCount = WireTensor.byteCount(dataType: spec.dataType, shape: shape) else {
                    throw InputError("input \(spec.name): shape \(shape) overflows")
                }
                let data = randomBytes(dataType: spec.dataType, count: byteCount, using: &generator)
                do { set.append(try WireTensor(name: spec.name, dataType: spec.dataType, shape: shape, data: data)) } catch {
                    throw InputError("input \(spec.name): \(error.message)")
                }
            }
            sets.append(set)
        }
        return InputSource(sets: sets)
    }

    /// Random inputs for `model` as its server-side metadata describes them.
    public static func random(
        client: TensorWireClient, model: String, version: UInt64 = 0, batchSize: Int = 1, shapeOverrides: [String: [Int]] = [:]
    ) throws(InputError) -> InputSource {
        let metadata: ModelMetadataResponse
        do { metadata = try client.modelMetadata(model: model, version: version) } catch {
            throw InputError("cannot get the metadata of \(model): \(error)")
        }
        return try random(metadata: metadata, batchSize: batchSize, shapeOverrides: shapeOverrides)
    }

    static func resolvedShape(_ spec: TensorSpec, batchSize: Int, override: [Int]?) throws(InputError) -> [Int] {
        if let override {
            guard override.count == spec.shape.count else {
                throw InputError("input \(spec.name): shape override \(override) has rank \(override.count), the model declares \(spec.shape)")
            }
            for (given, declared) in zip(override, spec.shape) where declared != -1 && given != declared {
                throw InputError("input \(spec.name): shape override \(override) conflicts with the declared \(spec.shape)")
            }
            return override
        }
        return spec.shape.enumerated().map { index, dimension in
            dimension >= 0 ? dimension : (index == 0 ? batchSize : 1)
        }
    }

    /// Uniform values that are valid for the type: floats in [0, 1), integers in 0..<10,
    /// booleans 0 or 1 (random bytes would give NaNs, huge indices and invalid booleans).
    static func randomBytes(dataType: TensorDataType, count: Int, using generator: inout SplitMix64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let width = dataType.byteWidth
        bytes.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: count, by: width) {
                let r = generator.next()
                let unit = Double(r >> 11) / Double(1 << 53)
                switch dataType {
                case .float32:
                    raw.storeBytes(of: Float(unit).bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
                case .float64:
                    raw.storeBytes(of: unit.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
                case .float16:
                    // Half-precision bits of 1.0 + unit/1024 * ... : exponent 0 (bias 15), random mantissa: [1, 2).
                    raw.storeBytes(of: (UInt16(0x3C00) | UInt16(r & 0x3FF)).littleEndian, toByteOffset: offset, as: UInt16.self)
                case .bfloat16:
                    raw.storeBytes(of: (UInt16(0x3F80) | UInt16(r & 0x7F)).littleEndian, toByteOffset: offset, as: UInt16.self)
                case .bool:
                    raw[offset] = UInt8(r & 1)
                default:
                    let value = r % 10
                    for byte in 0..<width { raw[offset + byte] = byte == 0 ? UInt8(value) : 0 }
                }
            }
        }
        return bytes
    }

    /// Input sets read from .npy files: `files[name]` lists the files for input `name`, cycled
    /// independently; the number of sets is the longest list.
    public static func npy(files: [(name: String, paths: [String])]) throws(InputError) -> InputSource {
        guard !files.isEmpty else { throw InputError("no .npy inputs given") }
        var tensors: [String: [WireTensor]] = [:]
        for (name, paths) in files {
            for path in paths {
                guard let bytes = readFile(path) else { throw InputError("cannot read \(path)") }
                do { tensors[name, default: []].append(try NPYFormat.decode(bytes, name: name)) } catch {
                    throw InputError("\(path): \(error.description)")
                }
            }
        }
        let count = files.map { $0.paths.count }.max() ?? 1
        let sets = (0..<count).map { index in
            files.map { entry in tensors[entry.name]![index % tensors[entry.name]!.count] }
        }
        return InputSource(sets: sets)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
