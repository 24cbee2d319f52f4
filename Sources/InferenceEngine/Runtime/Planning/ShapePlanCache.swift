#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The plans of one graph by input shapes, and the shapes it could not plan (so that they are
/// not retried on every request). Bounded: a server batching requests dynamically sees one
/// shape per batch size (up to its maximum batch, typically 32 or 64), and beyond
/// ``capacity`` the oldest entry is dropped.
final class ShapePlanCache: @unchecked Sendable {
    enum Entry {
        case plan(ShapePlan)
        case refused(key: [[Int]], PlanningRefusal)

        var key: [[Int]] {
            switch self {
            case .plan(let plan): plan.key
            case .refused(let key, _): key
            }
        }
    }

    private var mutex = pthread_mutex_t()
    private var entries: [Entry] = []
    static let capacity = 32

    init() {
        pthread_mutex_init(&mutex, nil)
        entries.reserveCapacity(Self.capacity)
    }
    deinit { pthread_mutex_destroy(&mutex) }

    /// The entry for the shapes of `inputs` (compared in place, without allocating).
    func lookup(_ inputs: [Tensor]) -> Entry? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        for entry in entries.reversed() where Self.matches(entry.key, inputs) { return entry }
        return nil
    }

    func store(_ entry: Entry) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        entries.removeAll { $0.key == entry.key }
        if entries.count >= Self.capacity { entries.removeFirst() }
        entries.append(entry)
    }

    private static func matches(_ key: [[Int]], _ inputs: [Tensor]) -> Bool {
        guard key.count == inputs.count else { return false }
        for i in inputs.indices where inputs[i].shape != key[i] { return false }
        return true
    }
}
