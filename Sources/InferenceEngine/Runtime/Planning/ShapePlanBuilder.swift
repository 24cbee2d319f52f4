/// Makes the ``ShapePlan`` of a graph for the input shapes of one recorded run: binds every
/// node's kernel to the shapes seen, resolves views (Reshape and friends) to the memory they
/// share, decides which values live in the caller's output buffers and lays the rest out in
/// one arena by liveness.
///
/// Planning fails, and the graph keeps running on the general executor for these shapes,
/// when a node has no bound form or needs values that change between requests of the same
/// shapes to know its output shape (a Reshape whose target is computed from input data).
struct ShapePlanBuilder {
    let graph: CompiledGraph
    /// What the recorded run saw in each slot; the values of constants and of shape-only nodes
    /// are included.
    let values: [PlanValue?]
    let key: [[Int]]
    let context: ExecutionContext

    /// Whether the node only moves or scales float data and cannot refuse a request.
    private func isPureDataMovement(_ step: ExecutionStep) -> Bool {
        switch step.node.opType {
        case "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Expand":
            return true
        case "Mul", "Div":
            return step.outputs.allSatisfy { $0 >= 0 && values[$0]?.elementType == .float32 }
        case "Gather":
            return step.inputs.count == 2 && step.inputs[1] >= 0 && values[step.inputs[1]]?.constant != nil
        default:
            return false
        }
    }

    /// The plan, or why there is none.
    func build() throws(InferenceError) -> Result<ShapePlan, PlanningRefusal> {
        let slotCount = graph.valueCount
        var root = Array(0..<slotCount)
        var isConstant = [Bool](repeating: false, count: slotCount)
        var isInput = [Int](repeating: -1, count: slotCount)
        var producer = [Int](repeating: -1, count: slotCount)
        for (slot, _) in graph.constants { isConstant[slot] = true }
        for (i, slot) in graph.inputSlots.enumerated() { isInput[slot] = i }

        // Data movement whose results only feed shape-only nodes (a copy kept alive for a
        // `Shape` of it) is not run: the plan holds the shape-only values as constants. Nodes
        // that check request data (Gather indices, integer division) always run, so a bad
        // request is refused planned or not.
        var wanted = Set(graph.outputSlots)
        var needed = [Bool](repeating: false, count: graph.steps.count)
        for (index, step) in graph.steps.enumerated().reversed() where !step.shapeOnly {
            if step.outputs.contains(where: wanted.contains) || !isPureDataMovement(step) {
                needed[index] = true
                for s in step.inputs where s >= 0 { wanted.insert(s) }
            }
        }

        struct Pending { var kernel: any BoundKernel; var step: ExecutionStep }
        var pending: [Pending] = []
        for (index, step) in graph.steps.enumerated() {
            let node = step.node
            if step.shapeOnly {
                for s in step.outputs where s >= 0 { isConstant[s] = true }
                continue
            }
            if !needed[index] { continue }
            let inputs = step.inputs.map { $0 >= 0 ? values[$0] : nil }
            let outputs = step.outputs.map { $0 >= 0 ? values[$0] : nil }
            for (i, s) in step.inputs.enumerated() where s >= 0 && inputs[i] == nil {
                return .failure(PlanningRefusal("node '\(node.name)' (\(node.opType)) reads a value the recorded run did not hold"))
            }
            guard let binding = try NodeExecutor(step: step, context: context).bind(inputs, outputs) else {
                return .failure(PlanningRefusal("\(node.opType) (node '\(node.name)') has no planned form"))
            }
            switch binding {
            case .alias:
                guard let source = step.inputs.first, source >= 0, let out = step.outputs.first, out >= 0,
                      let a = values[source], let b = values[out], a.byteCount == b.byteCount else {
                    return .failure(PlanningRefusal("node '\(node.name)' (\(node.opType)) cannot be a view of its input"))
                }
                root[out] = root[source]
            case .compute(let kernel):
                for s in step.outputs where s >= 0 {
                    guard values[s] != nil else {
                        return .failure(PlanningRefusal("node '\(node.name)' (\(node.opType)) produced no recorded value"))
                    }
                    producer[s] = pending.count
                }
                pending.append(Pending(kernel: kernel, step: step))
            }
        }

        // Outputs: the value behind each graph output is written straight into the caller's
        // buffer when a node of this plan computes it and no other output claims it.
        var locations = [ShapePlan.Location](repeating: .none, count: slotCount)
        var outputs: [ShapePlan.Output] = []
        var claimed = Set<Int>()
        for (j, slot) in graph.outputSlots.enumerated() {
            guard let value = values[slot] else {
                return .failure(PlanningRefusal("graph output #\(j) was not recorded"))
            }
            let r = root[slot]
            let direct = producer[r] >= 0 && claimed.insert(r).inserted
            if direct { locations[r] = .output(j) }
            outputs.append(ShapePlan.Output(shape: value.shape, elementType: value.elementType, byteCount: value.byteCount,
                                            source: slot, direct: direct))
        }

        // Lifetimes of the arena values, in plan steps; scratch lives during its own step.
        let end = pending.count
        var last = [Int](repeating: -1, count: slotCount)
        var readByPointer = [Bool](repeating: false, count: slotCount)
        for (index, p) in pending.enumerated() {
            for (k, s) in p.step.inputs.enumerated() where s >= 0 {
                last[root[s]] = max(last[root[s]], index)
                if p.kernel.readsInput(k) { readByPointer[root[s]] = true }
            }
        }
        for output in outputs where !output.direct {
            last[root[output.source]] = end
            readByPointer[root[output.source]] = true
        }
        var requests: [ArenaLayout.Request] = []
        var requestSlot: [Int] = []
        for slot in 0..<slotCount where root[slot] == slot && producer[slot] >= 0 && locations[slot] == .none {
            let first = producer[slot]
            requests.append(.init(bytes: values[slot]!.byteCount, first: first, last: max(first, last[slot])))
            requestSlot.append(slot)
        }
        let valueRequests = requests.count
        for (index, p) in pending.enumerated() where p.kernel.scratchBytes > 0 {
            requests.append(.init(bytes: p.kernel.scratchBytes, first: index, last: index))
        }
        let (offsets, arenaBytes) = ArenaLayout.place(requests)
        for (i, slot) in requestSlot.enumerated() { locations[slot] = .arena(offsets[i]) }

        // Constants read by address get a copy in the plan; model inputs stay the caller's.
        var constants: [(offset: Int, tensor: Tensor)] = []
        var constantBytes = 0
        for slot in 0..<slotCount where root[slot] == slot {
            if isInput[slot] >= 0 {
                locations[slot] = .input(isInput[slot])
            } else if isConstant[slot] && readByPointer[slot] {
                guard let tensor = values[slot]?.constant ?? graph.constants.first(where: { $0.slot == slot })?.tensor else {
                    return .failure(PlanningRefusal("constant slot \(slot) has no recorded value"))
                }
                locations[slot] = .constant(constantBytes)
                constants.append((constantBytes, tensor))
                constantBytes += (tensor.elementCount * (tensor.elementType.byteWidth ?? 4) + ArenaLayout.alignment - 1)
                    / ArenaLayout.alignment * ArenaLayout.alignment
            }
        }
        for slot in 0..<slotCount where root[slot] != slot { locations[slot] = locations[root[slot]] }

        var scratchIndex = valueRequests
        let steps = pending.map { p -> PlanStep in
            var scratchOffset = -1
            if p.kernel.scratchBytes > 0 { scratchOffset = offsets[scratchIndex]; scratchIndex += 1 }
            return PlanStep(kernel: p.kernel, inputs: p.step.inputs, outputs: p.step.outputs, scratchOffset: scratchOffset,
                            name: p.step.node.name, opType: p.step.node.opType)
        }
        return .success(ShapePlan(key: key, steps: steps, locations: locations, arenaBytes: arenaBytes,
                                  constants: constants, constantBytes: constantBytes, outputs: outputs))
    }
}

/// Why a graph runs on the general executor for some input shapes (shown by inspection and tests).
struct PlanningRefusal: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
