#if canImport(Glibc)
import Glibc
#endif
import Foundation
import InferenceEngine

/// `tensorwire model bench`: latency of `Model.run` alone, per (threads, optimization, batch).
///
/// The model is loaded once per (threads, optimization) pair, so each configuration reports
/// what the engine does with those options, whatever that is in this build.
enum ModelBench {
    struct Measurement {
        var batch: Int
        var threads: Int
        var optimization: OptimizationLevel
        /// How the shape ran: "planned", "general" (plans off) or "unplanned" (no plan possible).
        var plan: String
        var warmup: Int
        /// Nanoseconds per call, sorted.
        var samples: [UInt64]
        /// Per plan node (`--profile`), in execution order.
        var profile: [NodeTiming] = []

        /// Nearest-rank percentile in microseconds (`fraction` 0.5 is the median).
        func percentile(_ fraction: Double) -> Double {
            let rank = Int((fraction * Double(samples.count)).rounded(.up))
            return Double(samples[min(samples.count - 1, max(0, rank - 1))]) / 1000
        }
        var meanMicroseconds: Double { Double(samples.reduce(0, +)) / Double(samples.count) / 1000 }
        var inferencesPerSecond: Double { Double(batch) * 1e6 / percentile(0.5) }
    }

    static func run(_ path: String, given: [String: Tensor], flags: ModelFlags, json: Bool) throws(CLIError) {
        if flags.iterations != nil && flags.seconds != nil { throw CLIError("give --iterations or --seconds, not both") }
        var inputs: BenchInputs?
        var feedsByBatch: [[String: Tensor]] = []
        for threads in flags.threads {
            for level in flags.optimizations {
            for planned in flags.plans {
                let model: Model
                do {
                    model = try Model(contentsOf: path, options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level,
                                                                             intraOpThreads: threads, plannedExecution: planned))
                } catch { throw CLIError("\(path): \(error)") }
                if inputs == nil {
                    // Every configuration of one file declares the same inputs: build the
                    // feeds once, and refuse an impossible batch before timing anything.
                    let prepared = try BenchInputs(inputs: model.inputs, given: given, flags: flags)
                    for batch in flags.batches { feedsByBatch.append(try prepared.feeds(batch: batch)) }
                    inputs = prepared
                    if !json { printPreamble(path, model: model, inputs: prepared, given: given, flags: flags) }
                }
                for (batch, feeds) in zip(flags.batches, feedsByBatch) {
                    let samples: [UInt64]
                    do { samples = try measure(model, feeds: feeds, flags: flags) } catch {
                        let generatedIntegers = model.inputs.contains { given[$0.name] == nil && ($0.elementType == .int64 || $0.elementType == .int32) }
                        throw CLIError("batch \(batch), threads \(threads), optimization \(level): \(error)"
                                       + (generatedIntegers ? " (generated integer inputs are in [0, \(flags.integerLimit)); see --int-max and --input)" : ""),
                                       status: "INVALID_ARGUMENT")
                    }
                    let plan = switch model.planStatus(for: feeds) {
                    case .planned: "planned"
                    case .disabled: "general"
                    case .unplanned, .notYetPlanned: "unplanned"
                    }
                    var measurement = Measurement(batch: batch, threads: model.options.intraOpThreads, optimization: model.options.optimization,
                                                  plan: plan, warmup: flags.warmup, samples: samples.sorted())
                    if flags.profile && plan == "planned" {
                        do { measurement.profile = try model.profile(feeds, runs: samples.count) } catch {
                            throw CLIError("batch \(batch), threads \(threads), optimization \(level): profile: \(error)", status: "INVALID_ARGUMENT")
                        }
                    }
                    print(json ? jsonLine(path, measurement) : textRow(measurement))
                    if !json && flags.profile { print(profileText(measurement)) }
                    fflush(nil)   // all streams: a reading script sees each configuration as it ends
                }
            }
            }
        }
    }

    /// Warms up, then times each call on its own with the monotonic clock.
    private static func measure(_ model: Model, feeds: [String: Tensor], flags: ModelFlags) throws(InferenceError) -> [UInt64] {
        for _ in 0..<flags.warmup { _ = try model.run(feeds) }
        var samples: [UInt64] = []
        if let iterations = flags.iterations {
            samples.reserveCapacity(iterations)
            for _ in 0..<iterations {
                let start = nanoseconds()
                _ = try model.run(feeds)
                samples.append(nanoseconds() - start)
            }
        } else {
            let budget = UInt64((flags.seconds ?? 1) * 1e9)
            samples.reserveCapacity(4096)
            let end = nanoseconds() + budget
            var now: UInt64
            repeat {
                let start = nanoseconds()
                _ = try model.run(feeds)
                now = nanoseconds()
                samples.append(now - start)
            } while now < end
        }
        return samples
    }

    private static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private static func printPreamble(_ path: String, model: Model, inputs: BenchInputs, given: [String: Tensor], flags: ModelFlags) {
        print("model        \(path)")
        print("inputs       \(BenchInputs.describe(model.inputs))")
        print("batch        " + (inputs.batchSymbol.map { "dimension '\($0)'" } ?? "fixed (no symbolic batch dimension)")
              + (flags.dimensions.isEmpty ? "" : "; " + flags.dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))
        let made = model.inputs.filter { given[$0.name] == nil }.map { info -> String in
            switch info.elementType {
            case .float32: "\(info.name) random normal"
            case .bool: "\(info.name) all \(flags.boolValue)"
            default: "\(info.name) uniform in [0, \(flags.integerLimit))"
            }
        }
        if !given.isEmpty { print("given        " + given.keys.sorted().joined(separator: ", ")) }
        if !made.isEmpty { print("generated    " + made.joined(separator: ", ") + " (seed \(flags.seed))") }
        let amount = flags.iterations.map { "\($0) timed calls" } ?? "timed calls for \(flags.seconds ?? 1) s"
        print("timing       \(flags.warmup) warm-up calls, then \(amount) per configuration; Model.run per call, monotonic clock")
        print("")
        print(row(["batch", "threads", "optimization", "plan", "iterations", "median_us", "p90_us", "p99_us", "inferences/s"]))
    }

    private static let widths = [5, 8, -13, -10, 11, 11, 11, 11, 14]   // negative: left-aligned

    private static func row(_ cells: [String]) -> String {
        zip(cells, widths).map { cell, width in
            let room = String(repeating: " ", count: max(0, abs(width) - cell.count))
            return width < 0 ? cell + room : room + cell
        }.joined(separator: " ")
    }

    private static func textRow(_ m: Measurement) -> String {
        row(["\(m.batch)", "\(m.threads)", m.optimization.rawValue, m.plan, "\(m.samples.count)", format(m.percentile(0.5)),
             format(m.percentile(0.9)), format(m.percentile(0.99)), String(format: "%.1f", m.inferencesPerSecond)])
    }

    /// The nodes by time per run, slowest first, with their share of the profiled total.
    private static func profileText(_ m: Measurement) -> String {
        guard !m.profile.isEmpty else { return "  (no profile: this shape runs without an execution plan)\n" }
        let total = m.profile.reduce(0) { $0 + $1.microsecondsPerRun }
        var lines = ["  profile: \(m.profile.count) plan nodes, \(format(total)) us per run in total"]
        for node in m.profile.sorted(by: { $0.microsecondsPerRun > $1.microsecondsPerRun }) {
            let share = total > 0 ? 100 * node.microsecondsPerRun / total : 0
            lines.append("  " + [String(format: "%10.3f", node.microsecondsPerRun), String(format: "%5.1f%%", share),
                                 node.opType.padding(toLength: max(22, node.opType.count), withPad: " ", startingAt: 0), node.name].joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func jsonLine(_ path: String, _ m: Measurement) -> String {
        let model = jsonString(path)
        let fields: [(String, String)] = [
            ("model", model), ("batch", "\(m.batch)"), ("threads", "\(m.threads)"), ("optimization", "\"\(m.optimization.rawValue)\""), ("plan", "\"\(m.plan)\""),
            ("iterations", "\(m.samples.count)"), ("warmup", "\(m.warmup)"),
            ("median_us", format(m.percentile(0.5))), ("p90_us", format(m.percentile(0.9))), ("p99_us", format(m.percentile(0.99))),
            ("min_us", format(Double(m.samples[0]) / 1000)), ("mean_us", format(m.meanMicroseconds)),
            ("max_us", format(Double(m.samples[m.samples.count - 1]) / 1000)),
            ("inferences_per_s", String(format: "%.1f", m.inferencesPerSecond)),
        ] + (m.profile.isEmpty ? [] : [("profile", "[" + m.profile.map {
            "{\"node\": \(jsonString($0.name)), \"op\": \(jsonString($0.opType)), \"us\": \(format($0.microsecondsPerRun))}"
        }.joined(separator: ", ") + "]")])
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    private static func jsonString(_ text: String) -> String {
        (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    private static func format(_ microseconds: Double) -> String { String(format: "%.3f", microseconds) }
}
