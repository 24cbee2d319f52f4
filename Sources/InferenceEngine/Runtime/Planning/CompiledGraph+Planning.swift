extension CompiledGraph {
    /// Runs the graph, through the ``ShapePlan`` for the inputs' shapes when there is one,
    /// writing into `outputs` in place when they already have the plan's shapes and types
    /// (replacing them otherwise): with a plan and outputs the caller no longer shares, nothing
    /// is allocated.
    ///
    /// The first run with new shapes goes through the general executor, which records what it
    /// saw; the plan made from that serves every later run with those shapes. Shapes the graph
    /// cannot plan keep using the general executor.
    func run(_ inputs: [Tensor], into outputs: inout [Tensor], symbols: [String: Int] = [:],
             context: ExecutionContext) throws(InferenceError) {
        switch plans.lookup(inputs) {
        case .plan(let plan)?:
            if !plan.fitsOutputs(outputs) { outputs = plan.makeOutputs() }
            try plan.run(inputs, into: &outputs, context: context)
        case .refused?:
            outputs = try execute(inputs, symbols: symbols, context: context)
        case nil:
            outputs = try recordAndPlan(inputs, symbols: symbols, context: context)
        }
    }

    /// The plan for these input shapes, or why there is none; nil before a run with them.
    func planEntry(for inputs: [Tensor]) -> ShapePlanCache.Entry? { plans.lookup(inputs) }

    private func recordAndPlan(_ inputs: [Tensor], symbols: [String: Int], context: ExecutionContext) throws(InferenceError) -> [Tensor] {
        let recorder = PlanRecorder(slotCount: valueCount)
        let outputs = try execute(inputs, symbols: symbols, context: context, recorder: recorder)
        let key = inputs.map(\.shape)
        do throws(InferenceError) {
            switch try ShapePlanBuilder(graph: self, values: recorder.values, key: key, context: context).build() {
            case .success(let plan): plans.store(.plan(plan))
            case .failure(let refusal): plans.store(.refused(key: key, refusal))
            }
        } catch {
            // The run itself succeeded; shapes whose kernels refuse to bind stay unplanned.
            plans.store(.refused(key: key, PlanningRefusal("binding failed: \(error)")))
        }
        return outputs
    }
}
