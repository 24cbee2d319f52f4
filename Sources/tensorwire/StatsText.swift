import Foundation
import TensorWireProtocol

/// Renders a model's statistics for a terminal.
enum StatsText {
    static func render(_ stats: ModelStatistics) -> String {
        func average(_ total: UInt64, _ count: UInt64) -> String {
            count == 0 ? "-" : String(format: "%.1f us", Double(total) / Double(count) / 1000)
        }
        let failures = stats.outcomes.filter { $0.key != .ok }.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.name) \($0.value)" }.joined(separator: ", ")
        let sizes = stats.batchSizes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
        let rows = stats.batchSizes.reduce(UInt64(0)) { $0 + UInt64($1.key) * $1.value }
        let meanBatch = stats.executions == 0 ? "-" : String(format: "%.2f", Double(rows) / Double(stats.executions))
        return """
        \(stats.name) version \(stats.version)
          requests      ok \(stats.successes), failed \(stats.failures)\(failures.isEmpty ? "" : " (\(failures))")
          executions    \(stats.executions), mean batch \(meanBatch); requests run inline on the I/O thread: \(stats.inlineRequests)
          batch sizes   \(sizes.isEmpty ? "-" : sizes)
          queue         \(stats.queueCount) queued, mean \(average(stats.queueNanoseconds, stats.queueCount)); rejected (full) \(stats.rejectedQueueFull), expired \(stats.expiredInQueue), cancelled \(stats.cancelledInQueue)
          compute       mean \(average(stats.computeNanoseconds, stats.computeCount)) per execution
        """
    }
}
