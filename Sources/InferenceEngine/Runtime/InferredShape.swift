/// A shape as known at load time: fixed, symbolic (named, chosen per request) or unknown
/// dimensions. Used to catch shape errors at load and to describe outputs.
struct InferredShape: Sendable, Equatable {
    enum Dim: Sendable, Hashable {
        case fixed(Int), symbolic(String), unknown

        init(_ dimension: Dimension) {
            switch dimension {
            case .fixed(let n): self = .fixed(n)
            case .symbolic(let s): self = .symbolic(s)
            }
        }

        var fixedValue: Int? { if case .fixed(let n) = self { n } else { nil } }
    }

    var dims: [Dim]
    var rank: Int { dims.count }

    init(_ dims: [Dim]) { self.dims = dims }
    init(fixed: [Int]) { self.dims = fixed.map { .fixed($0) } }
    init(_ dimensions: [Dimension]) { self.dims = dimensions.map(Dim.init) }

    var description: String {
        "[" + dims.map { d in
            switch d {
            case .fixed(let n): String(n)
            case .symbolic(let s): s
            case .unknown: "?"
            }
        }.joined(separator: ", ") + "]"
    }

    /// Static numpy broadcasting of one dimension pair; `nil` if provably incompatible.
    static func broadcast(_ a: Dim, _ b: Dim) -> Dim? {
        switch (a, b) {
        case (.fixed(let x), .fixed(let y)):
            if x == y || y == 1 { return a }
            if x == 1 { return b }
            return nil
        case (.fixed(1), _): return b
        case (_, .fixed(1)): return a
        // A non-1 fixed size wins: the other side must be equal or 1 at run time.
        case (.fixed, _): return a
        case (_, .fixed): return b
        case (.symbolic(let x), .symbolic(let y)) where x == y: return a
        default: return .unknown
        }
    }

    static func broadcast(_ a: [Dim], _ b: [Dim]) -> [Dim]? {
        let rank = max(a.count, b.count)
        var out: [Dim] = []
        for i in 0..<rank {
            let da = i < rank - a.count ? Dim.fixed(1) : a[i - (rank - a.count)]
            let db = i < rank - b.count ? Dim.fixed(1) : b[i - (rank - b.count)]
            guard let d = broadcast(da, db) else { return nil }
            out.append(d)
        }
        return out
    }

    /// Product of dimensions as (fixed factor, symbolic names), `nil` if any is unknown.
    static func factor(_ dims: ArraySlice<Dim>) -> (fixed: Int, symbols: [String])? {
        var fixed = 1
        var symbols: [String] = []
        for d in dims {
            switch d {
            case .fixed(let n):
                let (p, o) = fixed.multipliedReportingOverflow(by: n)
                if o { return nil }
                fixed = p
            case .symbolic(let s): symbols.append(s)
            case .unknown: return nil
            }
        }
        return (fixed, symbols.sorted())
    }

    /// The product of `dims` as a single dimension when expressible (all fixed, or exactly one
    /// symbolic dimension times fixed 1s); otherwise unknown.
    static func product(_ dims: ArraySlice<Dim>) -> Dim {
        guard let (fixed, symbols) = factor(dims) else { return .unknown }
        if symbols.isEmpty { return .fixed(fixed) }
        if symbols.count == 1, fixed == 1 { return .symbolic(symbols[0]) }
        if fixed == 0 { return .fixed(0) }
        return .unknown
    }
}
