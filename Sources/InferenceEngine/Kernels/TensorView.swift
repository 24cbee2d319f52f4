/// A tensor described as a strided view of a buffer, so that a chain of Reshape, Transpose,
/// Squeeze/Unsqueeze, a Gather of one index and Expand can be followed without copying (the
/// fused attention reads its operands through such chains).
///
/// Each logical dimension is a list of atoms, outer to inner, each a (size, stride) pair in
/// elements: one atom for a dimension of a plain or transposed tensor, several when a Reshape
/// merged dimensions that are not contiguous with each other (`[S, B, H·d] → [S, B·H, d]` of a
/// transposed buffer). A dimension's index decomposes over its atoms row-major. Atoms of size 1
/// are dropped, so a dimension of size 1 has none.
struct TensorView: Sendable, Equatable {
    struct Atom: Sendable, Equatable {
        var size: Int
        var stride: Int
    }

    /// Per logical dimension, its atoms (outer to inner).
    private(set) var dims: [[Atom]]
    /// Element offset of the view's first element.
    private(set) var offset: Int

    /// The dense row-major layout of `shape`.
    static func contiguous(_ shape: [Int]) -> TensorView {
        var dims = [[Atom]](repeating: [], count: shape.count)
        var step = 1
        for d in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[d] != 1 { dims[d] = [Atom(size: shape[d], stride: step)] }
            step *= shape[d]
        }
        return TensorView(dims: dims, offset: 0)
    }

    var shape: [Int] { dims.map { $0.reduce(1) { $0 * $1.size } } }
    var rank: Int { dims.count }

    /// The single stride of dimension `d`: 0 for a size-1 or broadcast dimension, nil when its
    /// atoms do not collapse into one stride.
    func stride(_ d: Int) -> Int? {
        let atoms = Self.merged(dims[d])
        switch atoms.count {
        case 0: return 0
        case 1: return atoms[0].stride
        default: return nil
        }
    }

    func transposed(_ perm: [Int]) -> TensorView {
        TensorView(dims: perm.map { dims[$0] }, offset: offset)
    }

    /// The same elements in row-major order regrouped as `shape` (element counts must agree), or
    /// nil when some new dimension would have to split an atom at a size that does not divide it.
    func reshaped(_ shape: [Int]) -> TensorView? {
        var atoms = Self.merged(dims.flatMap { $0 })
        var result: [[Atom]] = []
        result.reserveCapacity(shape.count)
        var next = 0
        for size in shape {
            var group: [Atom] = []
            var need = size
            while need > 1 {
                guard next < atoms.count else { return nil }
                let atom = atoms[next]
                if atom.size <= need {
                    guard need % atom.size == 0 else { return nil }
                    group.append(atom)
                    need /= atom.size
                    next += 1
                } else {
                    // The dimension ends inside this atom: its outer part completes the
                    // dimension, the inner part starts the next one.
                    guard atom.size % need == 0 else { return nil }
                    let inner = atom.size / need
                    group.append(Atom(size: need, stride: atom.stride * inner))
                    atoms[next] = Atom(size: inner, stride: atom.stride)
                    need = 1
                }
            }
            if size == 0 { return nil }
            result.append(group)
        }
        guard next == atoms.count else { return nil }
        return TensorView(dims: result, offset: offset)
    }

    /// Index `index` of dimension `axis` (in range), that dimension removed: a Gather of one
    /// index.
    func selecting(axis: Int, index: Int) -> TensorView {
        var rest = dims
        let removed = rest.remove(at: axis)
        var offset = self.offset, remainder = index
        for atom in removed.reversed() {
            offset += (remainder % atom.size) * atom.stride
            remainder /= atom.size
        }
        return TensorView(dims: rest, offset: offset)
    }

    /// The first `count` dimensions: the elements at index 0 of the others.
    func prefix(_ count: Int) -> TensorView {
        TensorView(dims: Array(dims.prefix(count)), offset: offset)
    }

    /// Broadcast to `shape` (the broadcast of this shape and a target, as Expand computes it):
    /// new leading dimensions and size-1 dimensions that grow read the same elements.
    func expanded(to shape: [Int]) -> TensorView {
        var result = [[Atom]](repeating: [], count: shape.count)
        let lead = shape.count - dims.count
        for d in 0..<shape.count {
            let source = d - lead
            if source >= 0, !dims[source].isEmpty { result[d] = dims[source] }
            else if shape[d] != 1 { result[d] = [Atom(size: shape[d], stride: 0)] }
        }
        return TensorView(dims: result, offset: offset)
    }

    /// The view as a plain strided one over its atoms, for copying it densely.
    var dense: StridedView {
        let atoms = dims.flatMap { $0 }
        return StridedView(atoms.map(\.size), base: offset, strides: atoms.map(\.stride))
    }

    /// Adjacent atoms that are contiguous with each other joined into one.
    private static func merged(_ atoms: [Atom]) -> [Atom] {
        var result: [Atom] = []
        for atom in atoms where atom.size != 1 {
            if let last = result.last, last.stride == atom.stride * atom.size {
                result[result.count - 1] = Atom(size: last.size * atom.size, stride: atom.stride)
            } else {
                result.append(atom)
            }
        }
        return result
    }
}
