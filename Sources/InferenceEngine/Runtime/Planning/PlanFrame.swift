#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory of one run of a ``ShapePlan``: the arena every intermediate and scratch buffer
/// lives in, and the table of each value slot's address. A frame serves one run at a time; the
/// plan keeps idle frames for the next runs, so a steady stream of requests reuses the same
/// few frames and never allocates.
///
/// `@unchecked Sendable`: it is handed between threads only through the plan's locked pool.
final class PlanFrame: @unchecked Sendable {
    let arena: UnsafeMutableRawPointer
    let addresses: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let slotCount: Int
    /// This run's output buffers, by output index.
    let outputAddresses: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let outputCount: Int

    init(plan: ShapePlan) {
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(plan.arenaBytes, ArenaLayout.alignment), alignment: ArenaLayout.alignment)
        slotCount = plan.locations.count
        addresses = .allocate(capacity: slotCount)
        addresses.initialize(repeating: nil, count: slotCount)
        outputCount = plan.outputs.count
        outputAddresses = .allocate(capacity: max(outputCount, 1))
        outputAddresses.initialize(repeating: nil, count: max(outputCount, 1))
        for (slot, location) in plan.locations.enumerated() {
            switch location {
            case .arena(let offset): addresses[slot] = arena + offset
            case .constant(let offset): addresses[slot] = plan.constantRegion + offset
            case .input, .output, .none: break
            }
        }
    }

    deinit {
        arena.deallocate()
        addresses.deinitialize(count: slotCount)
        addresses.deallocate()
        outputAddresses.deinitialize(count: max(outputCount, 1))
        outputAddresses.deallocate()
    }
}
