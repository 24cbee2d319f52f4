/// Transpose, Slice, Split, Expand, Tile, DepthToSpace and SpaceToDepth bound to one plan's
/// shapes: every output is a strided view of input 0, merged once at bind, so a run is the
/// row copy alone (by element width, for every element type).
final class BoundStridedCopyKernel: BoundKernel {
    /// The view each output copies, by output index.
    let views: [StridedView]
    /// Bytes per element.
    let width: Int

    init(views: [StridedView], width: Int) {
        self.views = views
        self.width = width
    }

    /// The bound form of a node whose outputs are `views` of input `x`: no copy at all when
    /// the one output is the input's bytes in order (a transpose that moves only size-1
    /// dimensions, a whole-tensor slice, a split into one part).
    static func binding(_ x: PlanValue, views: [StridedView]) -> KernelBinding? {
        guard let width = elementWidth(x.elementType) else { return nil }
        if views.count == 1, views[0].count == x.elementCount, views[0].isContiguousPrefix { return .alias }
        return .compute(BoundStridedCopyKernel(views: views, width: width))
    }

    /// Bytes per element of the types a plan can move, nil for the others.
    static func elementWidth(_ type: ElementType) -> Int? {
        TensorStorage.supportedTypes.contains(type) ? type.byteWidth : nil
    }

    func readsInput(_ index: Int) -> Bool { index == 0 }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        let source = UnsafeRawPointer(io.input(0, as: UInt8.self))
        for (j, view) in views.enumerated() {
            guard let target = io.optionalOutput(j, as: UInt8.self) else { continue }
            view.copy(source, target, width: width, pool: context.pool)
        }
    }
}
