import InferenceEngine

/// Flags of `tensorwire model run|bench` (besides `--input`, which `infer` shares).
struct ModelFlags {
    var batches: [Int] = [1]
    var threads: [Int] = [1]
    var optimizations: [OptimizationLevel] = [.all]
    /// `model bench --plan on,off`: with and/or without per-shape execution plans.
    var plans: [Bool] = [true]
    var iterations: Int?
    var seconds: Double?
    var warmup = 10
    var dimensions: [String: Int] = [:]
    var batchDimension: String?
    var seed: UInt64 = 1
    var integerLimit: Int64 = 2
    var boolValue = true
    /// `model bench --profile`: after each configuration, the time per plan node.
    var profile = false
    /// `model inspect --optimized`: show the graph after the optimizer.
    var optimized = false
    /// Every model flag seen, so that commands that take none of them can refuse them.
    private(set) var seen: [String] = []

    static let help = """
      model bench MODEL.onnx [--batch 1,64] [--threads 1,2] [--optimize none,basic,all] [--plan on,off]
                  [--iterations N | --seconds S] [--warmup N] [--json] [--input NAME=FILE.npy]
                  [--dim NAME=N] [--batch-dim NAME] [--seed N] [--int-max N] [--bool true|false] [--profile]
                                                          time Model.run per call (monotonic ns clock) for every
                                                          (threads, optimization, batch); prints median, p90, p99 (us)
                                                          and inferences/s (batch / median); --json: one object a line
          --batch      sizes for the symbolic batch dimension (default 1); the batch symbol is --batch-dim,
                       else a symbol whose name contains "batch", else the first input's first dimension
          --threads    intra-op threads of one run (default 1; not concurrent callers)
          --optimize   graph optimization levels (default all)
          --plan       on: per-shape execution plans (the default, as served); off: the general executor;
                       the plan column says whether the shape actually ran planned
          --profile    then time every node of the shape's execution plan (as many runs again) and list
                       the nodes by time per run; with --json a "profile" array of {node, op, us}
          --iterations timed calls per configuration, or --seconds to time for that long (default 1 s)
          --warmup     untimed calls first (default 10)
          inputs       not given with --input are made per batch: float32 random normal (fixed --seed),
                       int64/int32 uniform in [0, --int-max) (default 2: safe token ids), bool all --bool
                       (default true); other symbolic dimensions need --dim NAME=N
    """

    /// Consumes a model flag at the front of `arguments`; returns false if it is not one.
    mutating func consume(_ flag: String, from arguments: inout ArgumentList) throws(CLIError) -> Bool {
        switch flag {
        case "--batch": batches = try Self.positiveList(try arguments.value(for: flag), flag: flag)
        case "--threads": threads = try Self.positiveList(try arguments.value(for: flag), flag: flag)
        case "--optimize":
            let text = try arguments.value(for: flag)
            var levels: [OptimizationLevel] = []
            for word in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let level = OptimizationLevel(rawValue: String(word)) else {
                    throw CLIError("--optimize takes \(OptimizationLevel.allCases.map(\.rawValue).joined(separator: ", ")) (comma-separated for bench), got '\(text)'")
                }
                if !levels.contains(level) { levels.append(level) }
            }
            optimizations = levels
        case "--plan":
            let text = try arguments.value(for: flag)
            var values: [Bool] = []
            for word in text.split(separator: ",", omittingEmptySubsequences: false) {
                switch word {
                case "on": if !values.contains(true) { values.append(true) }
                case "off": if !values.contains(false) { values.append(false) }
                default: throw CLIError("--plan takes on, off or on,off, got '\(text)'")
                }
            }
            plans = values
        case "--iterations": iterations = try Self.positive(try arguments.value(for: flag), flag: flag)
        case "--seconds":
            let text = try arguments.value(for: flag)
            guard let value = Double(text), value > 0, value.isFinite else { throw CLIError("--seconds needs a positive number, got '\(text)'") }
            seconds = value
        case "--warmup": warmup = try arguments.integer(for: flag)
        case "--dim":
            let spec = try arguments.value(for: flag)
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                throw CLIError("--dim needs NAME=N (a symbolic dimension and its size), got '\(spec)'")
            }
            dimensions[String(spec[..<equals])] = try Self.positive(String(spec[spec.index(after: equals)...]), flag: flag)
        case "--optimized": optimized = true
        case "--profile": profile = true
        case "--batch-dim": batchDimension = try arguments.value(for: flag)
        case "--seed": seed = UInt64(try arguments.integer(for: flag))
        case "--int-max": integerLimit = Int64(try Self.positive(try arguments.value(for: flag), flag: flag))
        case "--bool":
            let text = try arguments.value(for: flag)
            guard let value = Bool(text) else { throw CLIError("--bool takes true or false, got '\(text)'") }
            boolValue = value
        default:
            return false
        }
        seen.append(flag)
        return true
    }

    private static func positive(_ text: String, flag: String) throws(CLIError) -> Int {
        guard let value = Int(text), value > 0 else { throw CLIError("\(flag) needs a positive integer, got '\(text)'") }
        return value
    }

    private static func positiveList(_ text: String, flag: String) throws(CLIError) -> [Int] {
        var values: [Int] = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Int(word), value > 0 else {
                throw CLIError("\(flag) needs positive integers separated by commas, got '\(text)'")
            }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }
}
