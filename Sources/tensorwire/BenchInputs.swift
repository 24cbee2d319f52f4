import Foundation
import InferenceEngine

/// The input tensors `model bench` feeds a model at each batch size: given ones (`--input`) as
/// they are, the others made from the declared inputs with a fixed seed.
struct BenchInputs {
    /// The symbolic dimension the batch sizes go to; nil when every input shape is fixed.
    let batchSymbol: String?
    private let inputs: [ValueInfo]
    private let given: [String: Tensor]
    private let flags: ModelFlags

    init(inputs: [ValueInfo], given: [String: Tensor], flags: ModelFlags) throws(CLIError) {
        self.inputs = inputs
        self.given = given
        self.flags = flags
        var symbols: [String] = []
        for info in inputs {
            for case .symbolic(let name) in info.dimensions where !symbols.contains(name) { symbols.append(name) }
        }
        for name in given.keys where !inputs.contains(where: { $0.name == name }) {
            throw CLIError("--input '\(name)': the model has no such input; its inputs are \(Self.describe(inputs))")
        }
        if let named = flags.batchDimension {
            guard symbols.contains(named) else {
                throw CLIError("--batch-dim '\(named)': the model has no such symbolic dimension; its inputs are \(Self.describe(inputs))")
            }
            batchSymbol = named
        } else if let named = symbols.first(where: { $0.lowercased().contains("batch") }) {
            batchSymbol = named
        } else if case .symbolic(let name)? = inputs.first?.dimensions.first {
            batchSymbol = name
        } else {
            batchSymbol = nil
        }
        for name in flags.dimensions.keys {
            guard symbols.contains(name) else {
                throw CLIError("--dim \(name): the model has no such symbolic dimension; its inputs are \(Self.describe(inputs))")
            }
            if name == batchSymbol { throw CLIError("--dim \(name): '\(name)' is the batch dimension; set it with --batch") }
        }
    }

    /// Feeds for one batch size, or a message saying why the model cannot run at it.
    func feeds(batch: Int) throws(CLIError) -> [String: Tensor] {
        var sizes = flags.dimensions
        if let batchSymbol {
            sizes[batchSymbol] = batch
        } else {
            // No symbolic batch: only the batch the model was exported with is possible.
            let fixed: Int? = if case .fixed(let size)? = inputs.first?.dimensions.first { size } else { nil }
            if batch != (fixed ?? 1) {
                throw CLIError("the model has no symbolic batch dimension (inputs \(Self.describe(inputs))), "
                               + "so it runs at batch \(fixed ?? 1) only, not \(batch)")
            }
        }
        // Given inputs fix the symbols they carry; they must agree with --batch and --dim.
        for info in inputs {
            guard let tensor = given[info.name] else { continue }
            guard tensor.shape.count == info.dimensions.count else {
                throw CLIError("--input \(info.name): shape \(tensor.shape) does not have the declared rank of \(Self.describe(info))")
            }
            for (size, dimension) in zip(tensor.shape, info.dimensions) {
                switch dimension {
                case .fixed(let expected) where expected != size:
                    throw CLIError("--input \(info.name): shape \(tensor.shape) does not fit \(Self.describe(info))")
                case .symbolic(let name):
                    if let expected = sizes[name], expected != size {
                        let source = name == batchSymbol ? "--batch \(batch)" : "the other inputs or --dim"
                        throw CLIError("--input \(info.name): shape \(tensor.shape) has \(name) = \(size), but \(source) makes it \(expected)")
                    }
                    sizes[name] = size
                default:
                    break
                }
            }
        }
        var random = SplitMix64(seed: flags.seed)
        var feeds: [String: Tensor] = [:]
        for info in inputs {
            if let tensor = given[info.name] {
                feeds[info.name] = tensor
                continue
            }
            var shape: [Int] = []
            for dimension in info.dimensions {
                switch dimension {
                case .fixed(let size): shape.append(size)
                case .symbolic(let name):
                    guard let size = sizes[name] else {
                        throw CLIError("input \(Self.describe(info)) has the symbolic dimension '\(name)': give its size with --dim \(name)=N (or the input with --input)")
                    }
                    shape.append(size)
                }
            }
            let count = shape.reduce(1, *)
            switch info.elementType {
            case .float32: feeds[info.name] = Tensor(shape: shape, scalars: (0..<count).map { _ in random.nextNormal() })
            case .int64: feeds[info.name] = Tensor(shape: shape, int64s: (0..<count).map { _ in random.next(below: flags.integerLimit) })
            case .int32: feeds[info.name] = Tensor(shape: shape, int32s: (0..<count).map { _ in Int32(clamping: random.next(below: flags.integerLimit)) })
            case .bool: feeds[info.name] = Tensor(shape: shape, bools: Array(repeating: flags.boolValue, count: count))
            default: throw CLIError("input '\(info.name)' has element type \(info.elementType), which bench cannot make; give it with --input")
            }
        }
        return feeds
    }

    static func describe(_ info: ValueInfo) -> String {
        "'\(info.name)' \(info.elementType) [" + info.dimensions.map(\.description).joined(separator: ", ") + "]"
    }

    static func describe(_ inputs: [ValueInfo]) -> String { inputs.map(describe).joined(separator: ", ") }
}

/// A small seeded generator (SplitMix64), so runs and machines get the same inputs.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, limit).
    mutating func next(below limit: Int64) -> Int64 { Int64(next() % UInt64(limit)) }

    /// Standard normal (Box-Muller; one of the pair is enough here).
    mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]: log is finite
        let u2 = Double(next() >> 11) * 0x1p-53         // [0, 1)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}
