/// Offsets in one arena for buffers with known lifetimes: two buffers share bytes only if no
/// step uses both (liveness-based placement).
///
/// Greedy first fit, largest buffer first: each buffer goes to the lowest 64-byte-aligned
/// offset where it overlaps no already placed buffer whose lifetime overlaps its own. Plans
/// have tens to a few hundred buffers, so the quadratic scan costs microseconds, once per plan.
struct ArenaLayout {
    struct Request {
        var bytes: Int
        /// First and last step (inclusive) during which the buffer must hold its contents.
        var first: Int
        var last: Int
    }

    static let alignment = 64

    /// The offset of each request, and the arena size they need.
    static func place(_ requests: [Request]) -> (offsets: [Int], totalBytes: Int) {
        var offsets = [Int](repeating: 0, count: requests.count)
        let order = requests.indices.sorted { requests[$0].bytes != requests[$1].bytes ? requests[$0].bytes > requests[$1].bytes : $0 < $1 }
        var placed: [(start: Int, end: Int, first: Int, last: Int)] = []
        var total = 0
        for i in order {
            let r = requests[i]
            let size = max(alignment, (r.bytes + alignment - 1) / alignment * alignment)
            // Busy byte ranges of buffers alive at the same time, by start.
            let busy = placed.filter { $0.first <= r.last && r.first <= $0.last }.sorted { $0.start < $1.start }
            var offset = 0
            for range in busy {
                if offset + size <= range.start { break }
                offset = max(offset, range.end)
            }
            offsets[i] = offset
            placed.append((offset, offset + size, r.first, r.last))
            total = max(total, offset + size)
        }
        return (offsets, total)
    }
}
