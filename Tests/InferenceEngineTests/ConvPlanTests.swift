import Foundation
import Testing
@testable import InferenceEngine

/// The bound (planned) forms of the convolution family against their dynamic runs: Conv and
/// FusedConv on every algorithm, MaxPool/AveragePool on every path, GlobalAveragePool /
/// GlobalMaxPool, ConvTranspose, InstanceNormalization and GroupNormalization.
///
/// Both forms share one implementation of the arithmetic, so the outputs must be bit for bit
/// the same. The bound kernel runs on exactly the memory a plan would give it: its scratch
/// space is exactly ``BoundKernel/scratchBytes`` long and filled with garbage, its outputs are
/// filled with garbage, and guard bytes after every buffer must come back untouched.
@Suite("Convolution-family plans")
struct ConvPlanTests {
    struct Unbound: Error, CustomStringConvertible { var description: String }

    static let guardBytes = 256
    static let guardByte: UInt8 = 0xA5

    /// A buffer of `bytes` followed by guard bytes.
    final class Buffer {
        let bytes: Int
        let base: UnsafeMutableRawPointer
        init(bytes: Int, fill: UInt8) {
            self.bytes = bytes
            base = .allocate(byteCount: bytes + ConvPlanTests.guardBytes, alignment: 64)
            base.initializeMemory(as: UInt8.self, repeating: fill, count: bytes)
            (base + bytes).initializeMemory(as: UInt8.self, repeating: ConvPlanTests.guardByte, count: ConvPlanTests.guardBytes)
        }
        deinit { base.deallocate() }
        var guardIntact: Bool {
            (0..<ConvPlanTests.guardBytes).allSatisfy { (base + bytes).load(fromByteOffset: $0, as: UInt8.self) == ConvPlanTests.guardByte }
        }
    }

    /// Runs `kernel` dynamically, then binds it to the shapes of that run and executes the
    /// bound form on fresh copies of the inputs.
    static func planned(_ kernel: any NodeKernel, _ inputs: [Tensor?], opType: String,
                        context: ExecutionContext = .serial) throws -> (bound: [Tensor], dynamic: [Tensor], kernel: any BoundKernel) {
        let node = CompiledNode(name: "node", opType: opType, operation: .kernel(kernel), inputs: [], outputs: [0])
        let executor = NodeExecutor(node: node, context: context)
        let dynamic = try kernel.run(inputs, executor)
        let inputValues: [PlanValue?] = inputs.map { $0.map { PlanValue(shape: $0.shape, elementType: $0.elementType, constant: nil) } }
        let outputValues: [PlanValue?] = dynamic.map { PlanValue(shape: $0.shape, elementType: $0.elementType, constant: nil) }
        guard case .compute(let bound)? = try kernel.bind(inputValues, outputValues, executor) else {
            throw Unbound(description: "\(opType) did not bind to \(inputs.map { $0?.shape ?? [] })")
        }
        var buffers: [Buffer] = []
        var slots: [Int] = []
        for input in inputs {
            guard let input else { slots.append(-1); continue }
            let buffer = Buffer(bytes: input.elementCount * (input.elementType.byteWidth ?? 4), fill: 0)
            input.withUnsafeBytes { if let b = $0.baseAddress, $0.count > 0 { buffer.base.copyMemory(from: b, byteCount: $0.count) } }
            slots.append(buffers.count)
            buffers.append(buffer)
        }
        let inputSlots = slots
        var outputSlots: [Int] = []
        for output in dynamic {
            outputSlots.append(buffers.count)
            buffers.append(Buffer(bytes: output.elementCount * (output.elementType.byteWidth ?? 4), fill: 0x7B))
        }
        let scratch = bound.scratchBytes > 0 ? Buffer(bytes: bound.scratchBytes, fill: 0xFF) : nil
        let addresses = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: buffers.count)
        defer { addresses.deallocate() }
        for (i, buffer) in buffers.enumerated() { addresses[i] = buffer.base }
        let step = PlanStep(kernel: bound, inputs: inputSlots, outputs: outputSlots, scratchOffset: scratch == nil ? -1 : 0,
                            name: "node", opType: opType)
        try bound.execute(BoundIO(addresses: UnsafePointer(addresses), step: step, scratch: scratch?.base), context)
        let intact = buffers.allSatisfy { $0.guardIntact }
        #expect(intact, "\(opType): a buffer was written past its end")
        #expect(scratch?.guardIntact ?? true, "\(opType): scratch written past its \(bound.scratchBytes) bytes")
        let outputs = zip(dynamic, outputSlots).map { expected, slot -> Tensor in
            let base = buffers[slot].base
            if expected.elementType == .int64 {
                return Tensor(shape: expected.shape, int64s: Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Int64.self), count: expected.elementCount)))
            }
            return Tensor(shape: expected.shape, scalars: Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: expected.elementCount)))
        }
        return (outputs, dynamic, bound)
    }

    /// The bound and dynamic outputs are identical (NaN where NaN).
    static func expectSame(_ kernel: any NodeKernel, _ inputs: [Tensor?], opType: String, _ label: String,
                           context: ExecutionContext = .serial) throws {
        let (bound, dynamic, _) = try planned(kernel, inputs, opType: opType, context: context)
        for (got, expected) in zip(bound, dynamic) {
            #expect(got.shape == expected.shape, "\(label)")
            if expected.elementType == .int64 {
                #expect(got.storage.int64Values == expected.storage.int64Values, "\(label): indices differ")
            } else {
                let same = zip(got.scalars, expected.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
                #expect(same, "\(label): planned and dynamic results differ")
            }
        }
    }

    // MARK: Conv

    static let convShapes: [ConvCase] = ConvKernelTests.shapes + ConvKernelTests.parallelShapes.map {
        var s = $0; s.name = "parallel " + s.name; return s
    } + [
        ConvCase(name: "empty batch", n: 0, c: 3, h: 5, w: 5, m: 4, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(name: "no input channels", n: 2, c: 0, h: 4, w: 4, m: 3, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(name: "padding only rows", n: 1, c: 2, h: 1, w: 20, m: 3, kernel: (3, 3), stride: (1, 2), pads: (2, 1, 2, 1)),
    ]

    static let convEpilogues: [EpilogueCase] = [
        EpilogueCase(activation: .none, residual: false, before: false),
        EpilogueCase(activation: .relu, residual: true, before: true),
        EpilogueCase(activation: .sigmoid, residual: true, before: false),
    ]

    @Test("Conv: bound form equals the dynamic run", arguments: convShapes)
    func conv(_ s: ConvCase) throws {
        var rng = SplitMix64(seed: UInt64(s.n * 31 + s.c * 7 + s.w))
        let x = Tensor(shape: s.inputShape, scalars: ConvKernelTests.random(s.inputShape.reduce(1, *), &rng))
        let w = ConvKernelTests.random(s.weightShape.reduce(1, *), &rng), bias = ConvKernelTests.random(s.m, &rng)
        let g = s.window.geometry(h: s.h, w: s.w)
        let outShape = s.oneDimensional ? [s.n, s.m, g.ow] : [s.n, s.m, g.oh, g.ow]
        let residual = Tensor(shape: outShape, scalars: ConvKernelTests.random(outShape.reduce(1, *), &rng))
        let pool = IntraOpPool(threadCount: 2)
        for e in Self.convEpilogues {
            for withBias in [true, false] {
                let fused = ConvKernel(window: s.window, group: s.group).fused(activation: e.activation, residual: e.residual,
                                                                              residualBeforeActivation: e.before)
                let r: Tensor? = e.residual ? residual : nil
                let b: Tensor? = withBias ? Tensor(shape: [s.m], scalars: bias) : nil
                var constant = fused
                constant.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: withBias ? bias : nil)
                for context in [ExecutionContext.serial, ExecutionContext(pool: pool)] {
                    let label = "\(s), \(e), bias \(withBias), threads \(context.pool?.threadCount ?? 1)"
                    try Self.expectSame(fused, [x, Tensor(shape: s.weightShape, scalars: w), b, r], opType: "Conv", label + ", weights as inputs",
                                        context: context)
                    try Self.expectSame(constant, [x, nil, nil, r], opType: "Conv", label + ", constant weights", context: context)
                }
            }
        }
    }

    /// Weights captured at load are not read from the plan, so it keeps no copy of them;
    /// weights that are node inputs are.
    @Test func convReadsOnlyTheInputsItNeeds() throws {
        let s = ConvKernelTests.shapes.first { $0.name == "3x3 per image" }!
        var rng = SplitMix64(seed: 3)
        let x = Tensor(shape: s.inputShape, scalars: ConvKernelTests.random(s.inputShape.reduce(1, *), &rng))
        let w = ConvKernelTests.random(s.weightShape.reduce(1, *), &rng)
        var constant = ConvKernel(window: s.window, group: s.group)
        constant.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: nil)
        let (_, _, bound) = try Self.planned(constant, [x, Tensor(shape: s.weightShape, scalars: w)], opType: "Conv")
        #expect(bound.readsInput(0) && !bound.readsInput(1) && !bound.readsInput(2))
        let (_, _, fromInputs) = try Self.planned(ConvKernel(window: s.window, group: s.group), [x, Tensor(shape: s.weightShape, scalars: w)],
                                                  opType: "Conv")
        #expect(fromInputs.readsInput(1))
    }

    /// im2col and the GEMM's packing need scratch memory; the plan must be told.
    @Test func im2colGoesToScratch() throws {
        let s = ConvKernelTests.shapes.first { $0.name == "deep 3x3 per image" }!
        let x = Tensor(shape: s.inputShape, scalars: [Float](repeating: 1, count: s.inputShape.reduce(1, *)))
        let w = Tensor(shape: s.weightShape, scalars: [Float](repeating: 0.5, count: s.weightShape.reduce(1, *)))
        let (_, _, bound) = try Self.planned(ConvKernel(window: s.window, group: s.group), [x, w], opType: "Conv")
        let g = s.window.geometry(h: s.h, w: s.w)
        #expect(bound.scratchBytes >= s.c * 9 * g.oh * g.ow * 4)
    }

    // MARK: Pools

    static let poolCases: [PoolKernelTests.Case] = PoolKernelTests.cases + [
        // Narrow rows of planes too large to interleave.
        PoolKernelTests.Case(name: "narrow large plane", h: 80, w: 60, window: PoolKernelTests.window((3, 3), (1, 10), pads: (1, 1, 1, 1))),
        PoolKernelTests.Case(name: "empty output", h: 2, w: 2, window: PoolKernelTests.window((3, 3), (1, 1))),
        PoolKernelTests.Case(name: "all padding rows", h: 1, w: 30, window: PoolKernelTests.window((3, 3), (2, 1), pads: (2, 0, 2, 0))),
    ]

    @Test("MaxPool / AveragePool: bound form equals the dynamic run", arguments: poolCases)
    func pool(_ c: PoolKernelTests.Case) throws {
        var rng = SplitMix64(seed: UInt64(c.h * 100 + c.w))
        let pool = IntraOpPool(threadCount: 2)
        for planes in [1, 6, 40] {
            let shape = c.window.spatialRank == 1 ? [planes, 1, c.w] : [2, planes / 2 + (planes == 1 ? 1 : 0), c.h, c.w]
            var values = ConvKernelTests.random(shape.reduce(1, *), &rng)
            if values.count > 5 { values[5] = .nan }
            let x = Tensor(shape: shape, scalars: values)
            let kernels: [(String, PoolKernel)] = [
                ("max", PoolKernel(window: c.window, isMax: true, countIncludePad: false)),
                ("average", PoolKernel(window: c.window, isMax: false, countIncludePad: false)),
                ("average include pad", PoolKernel(window: c.window, isMax: false, countIncludePad: true)),
                ("max with indices", PoolKernel(window: c.window, isMax: true, countIncludePad: false, indices: true)),
                ("max with column-major indices", PoolKernel(window: c.window, isMax: true, countIncludePad: false, indices: true, columnMajor: true)),
            ]
            for (name, kernel) in kernels {
                for context in [ExecutionContext.serial, ExecutionContext(pool: pool)] {
                    try Self.expectSame(kernel, [x], opType: "MaxPool", "\(c) \(name) \(shape)", context: context)
                }
            }
        }
    }

    @Test func globalPools() throws {
        var rng = SplitMix64(seed: 11)
        for shape in [[2, 3, 5, 7], [1, 4, 37], [3, 2, 0, 4], [0, 3, 4, 4], [2, 5, 1, 1]] {
            let x = Tensor(shape: shape, scalars: ConvKernelTests.random(shape.reduce(1, *), &rng))
            for isMax in [false, true] {
                try Self.expectSame(GlobalPoolKernel(isMax: isMax), [x], opType: "GlobalPool", "\(shape) max \(isMax)")
            }
        }
    }

    // MARK: ConvTranspose and normalizations

    @Test func convTranspose() throws {
        var rng = SplitMix64(seed: 17)
        let cases: [(ConvTransposeKernel, x: [Int], w: [Int])] = [
            (ConvTransposeKernel(group: 1, kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [1, 0, 0, 1], outputPadding: [1, 0],
                                 outputShape: nil, autoPad: "NOTSET"), [2, 3, 4, 5], [3, 2, 3, 3]),
            (ConvTransposeKernel(group: 2, kernel: [3], strides: [3], dilations: [2], pads: [0, 0], outputPadding: [0],
                                 outputShape: nil, autoPad: "NOTSET"), [1, 4, 6], [4, 3, 3]),
            (ConvTransposeKernel(group: 1, kernel: [2, 2], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], outputPadding: [0, 0],
                                 outputShape: [7, 9], autoPad: "SAME_UPPER"), [1, 2, 3, 4], [2, 3, 2, 2]),
        ]
        for (kernel, xs, ws) in cases {
            let x = Tensor(shape: xs, scalars: ConvKernelTests.random(xs.reduce(1, *), &rng))
            let w = Tensor(shape: ws, scalars: ConvKernelTests.random(ws.reduce(1, *), &rng))
            let m = ws[1] * kernel.group
            let b = Tensor(shape: [m], scalars: ConvKernelTests.random(m, &rng))
            try Self.expectSame(kernel, [x, w, b], opType: "ConvTranspose", "\(xs) with bias")
            try Self.expectSame(kernel, [x, w], opType: "ConvTranspose", "\(xs) without bias")
        }
    }

    @Test func groupAndInstanceNormalization() throws {
        var rng = SplitMix64(seed: 23)
        let cases: [(GroupNormKernel, [Int], affine: Int)] = [
            (GroupNormKernel(groups: nil, perChannelAffine: true, epsilon: 1e-5), [2, 3, 4, 5], 3),
            (GroupNormKernel(groups: nil, perChannelAffine: true, epsilon: 1e-3), [1, 4, 17], 4),
            (GroupNormKernel(groups: 2, perChannelAffine: false, epsilon: 1e-5), [2, 6, 3, 3], 2),
            (GroupNormKernel(groups: 3, perChannelAffine: true, epsilon: 1e-5), [2, 6, 7], 6),
            (GroupNormKernel(groups: 2, perChannelAffine: true, epsilon: 1e-5), [0, 4, 3], 4),
        ]
        for (kernel, shape, affine) in cases {
            let x = Tensor(shape: shape, scalars: ConvKernelTests.random(shape.reduce(1, *), &rng))
            let scale = Tensor(shape: [affine], scalars: ConvKernelTests.random(affine, &rng))
            let bias = Tensor(shape: [affine], scalars: ConvKernelTests.random(affine, &rng))
            try Self.expectSame(kernel, [x, scale, bias], opType: "GroupNormalization", "\(shape) groups \(kernel.groups ?? -1)")
        }
        // Scale and bias of the wrong length do not bind (the dynamic run refuses them too).
        let x = Tensor(shape: [1, 4, 3], scalars: [Float](repeating: 1, count: 12))
        let wrong = Tensor(shape: [3], scalars: [1, 1, 1])
        let node = CompiledNode(name: "node", opType: "InstanceNormalization", operation: .kernel(GroupNormKernel(groups: nil, perChannelAffine: true, epsilon: 1e-5)),
                                inputs: [], outputs: [0])
        let value = { (t: Tensor) in PlanValue(shape: t.shape, elementType: .float32, constant: nil) }
        let binding = try GroupNormKernel(groups: nil, perChannelAffine: true, epsilon: 1e-5)
            .bind([value(x), value(wrong), value(wrong)], [value(x)], NodeExecutor(node: node))
        #expect(binding == nil)
    }

    // MARK: Whole models

    static let fixtureModels: [FixtureCase] = opCases.filter { c in
        ["conv", "pool", "instancenorm", "groupnorm"].contains { c.name.lowercased().contains($0) }
    }

    /// Single-operator models of this family are planned whole from their second run, and the
    /// planned runs agree with the general executor.
    @Test("op fixture models plan and agree", arguments: fixtureModels)
    func fixtureModelPlans(_ fixture: FixtureCase) throws {
        let inputs = fixture.inputs.mapValues(\.tensor)
        let reference = try Model(contentsOf: repoPath(fixture.model),
                                  options: ModelOptions(outputTypes: Model.allOutputTypes, plannedExecution: false)).run(inputs)
        let model = try Model(contentsOf: repoPath(fixture.model), options: ModelOptions(outputTypes: Model.allOutputTypes, plannedExecution: true))
        for _ in 0..<3 {
            let results = try model.run(inputs)
            for (got, expected) in zip(results, reference) {
                #expect(got.shape == expected.shape, "\(fixture)")
                if expected.elementType == .float32 {
                    #expect(got.scalars == expected.scalars || zip(got.scalars, expected.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) },
                            "\(fixture): planned and unplanned results differ")
                } else {
                    #expect(got.storage.int64Values == expected.storage.int64Values, "\(fixture)")
                }
            }
        }
        let entry = model.graphForTesting.planEntry(for: model.inputs.map { inputs[$0.name]! })
        if case .refused(_, let why)? = entry { Issue.record("\(fixture) was not planned: \(why)") }
        #expect(entry != nil, "\(fixture): no plan entry")
    }
}
