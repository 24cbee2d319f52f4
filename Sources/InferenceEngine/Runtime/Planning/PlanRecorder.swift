/// Collects what a run of the general executor saw in every slot (shape, element type, and
/// the values that depend on input shapes alone), from which ``ShapePlanBuilder`` makes the
/// plan for those input shapes.
final class PlanRecorder {
    private(set) var values: [PlanValue?]

    init(slotCount: Int) { values = [PlanValue?](repeating: nil, count: slotCount) }

    /// Records a value; `constant` when every run with these input shapes has the same contents.
    func record(_ slot: Int, _ tensor: Tensor, constant: Bool) {
        values[slot] = PlanValue(shape: tensor.shape, elementType: tensor.elementType, constant: constant ? tensor : nil)
    }
}
