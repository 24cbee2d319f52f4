import Foundation
import Testing
@testable import InferenceEngine

/// One single-node LSTM/GRU/RNN model for ``RecurrentPlanTests``: which outputs the graph
/// keeps, whether W/R/B are initializers (captured at load) or request inputs, and the
/// element type of `sequence_lens`.
struct RecurrentPlanCase: Sendable, CustomStringConvertible {
    var name: String
    var shape: RecurrentCase
    /// Which of Y, Y_h, Y_c are graph outputs.
    var keep: [Bool] = [true, true, true]
    /// Outputs not kept are left unnamed ("") when true, else named but read by nothing.
    var omitUnused = true
    var weightsAsInputs = false
    var lengthsInt64 = false
    var description: String { name }

    var opType: String { shape.cell == .lstm ? "LSTM" : (shape.cell == .rnn ? "RNN" : "GRU") }
    var outputNames: [String] { shape.cell == .lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"] }
    /// ``keep`` for the outputs this operator has.
    var kept: [Bool] { Array(keep.prefix(outputNames.count)) }
}

/// The planned LSTM/GRU/RNN kernels give exactly what the general executor gives (they run the
/// same code on the plan's memory), with outputs that nothing reads, weights that are request
/// inputs, sequence lengths that change between requests of one shape, and out-of-range
/// lengths rejected per request.
@Suite("Planned recurrent kernels")
struct RecurrentPlanTests {
    static let cases: [RecurrentPlanCase] = [
        RecurrentPlanCase(name: "LSTM all outputs", shape: RecurrentCase(name: "", cell: .lstm, seq: 5, batch: 3, input: 4, hidden: 10)),
        RecurrentPlanCase(name: "LSTM Y_h only, bidirectional lengths states", shape: RecurrentCase(
            name: "", cell: .lstm, direction: "bidirectional", seq: 6, batch: 6, input: 5, hidden: 37, lengths: [6, 3, 0, 1, 6, 5],
            initialStates: true), keep: [false, true, false]),
        RecurrentPlanCase(name: "LSTM Y_c only, peepholes clip, weights as inputs", shape: RecurrentCase(
            name: "", cell: .lstm, seq: 5, batch: 3, input: 4, hidden: 9, initialStates: true, peepholes: true, clip: 0.7),
            keep: [false, false, true], weightsAsInputs: true),
        RecurrentPlanCase(name: "LSTM layout 1 input_forget, unread named Y", shape: RecurrentCase(
            name: "", cell: .lstm, direction: "bidirectional", seq: 4, batch: 2, input: 3, hidden: 5, layout: 1, lengths: [2, 4],
            initialStates: true, inputForget: true), keep: [false, true, true], omitUnused: false, lengthsInt64: true),
        RecurrentPlanCase(name: "LSTM unfused projection, weights as inputs", shape: RecurrentCase(
            name: "", cell: .lstm, direction: "reverse", seq: 5, batch: 9, input: 300, hidden: 16, lengths: [5, 1, 3, 0, 5, 2, 4, 5, 5]),
            weightsAsInputs: true),
        RecurrentPlanCase(name: "LSTM unfused projection, captured weights, Y only", shape: RecurrentCase(
            name: "", cell: .lstm, seq: 4, batch: 10, input: 300, hidden: 16, initialStates: true), keep: [true, false, false]),
        RecurrentPlanCase(name: "GRU linear_before_reset layout 1 lengths", shape: RecurrentCase(
            name: "", cell: .gruLinearBeforeReset, direction: "reverse", seq: 5, batch: 4, input: 3, hidden: 20, layout: 1,
            lengths: [5, 1, 3, 0], initialStates: true, clip: 1.5)),
        RecurrentPlanCase(name: "GRU Y_h only, weights as inputs", shape: RecurrentCase(
            name: "", cell: .gru, direction: "bidirectional", seq: 5, batch: 5, input: 4, hidden: 33, lengths: [5, 2, 4, 1, 3],
            initialStates: true, clip: 2), keep: [false, true], weightsAsInputs: true, lengthsInt64: true),
        RecurrentPlanCase(name: "GRU Y only, no bias", shape: RecurrentCase(
            name: "", cell: .gru, seq: 4, batch: 2, input: 5, hidden: 12, bias: false), keep: [true, false], omitUnused: false),
        RecurrentPlanCase(name: "RNN reverse lengths", shape: RecurrentCase(
            name: "", cell: .rnn, direction: "reverse", seq: 4, batch: 6, input: 2, hidden: 17, lengths: [4, 4, 2, 3, 1, 4], clip: 0.9)),
        RecurrentPlanCase(name: "RNN bidirectional layout 1, Y only", shape: RecurrentCase(
            name: "", cell: .rnn, direction: "bidirectional", seq: 3, batch: 5, input: 6, hidden: 8, layout: 1, initialStates: true),
            keep: [true, false]),
    ]

    // MARK: Building the model

    static func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    static func model(_ c: RecurrentPlanCase, _ v: RecurrentKernelTests.Inputs) -> [UInt8] {
        let s = c.shape, d = s.directions, gh = s.gates * s.hidden
        var inputs: [(String, Int, [Int])] = [("X", 1, s.xShape)]        // name, ONNX element type, shape
        var initializers: [(String, [Int], [Float])] = []
        func weight(_ name: String, _ shape: [Int], _ values: [Float]) {
            if c.weightsAsInputs { inputs.append((name, 1, shape)) } else { initializers.append((name, shape, values)) }
        }
        weight("W", [d, gh, s.input], v.w)
        weight("R", [d, gh, s.hidden], v.r)
        if let b = v.b { weight("B", [d, 2 * gh], b) }
        if s.lengths != nil { inputs.append(("L", c.lengthsInt64 ? 7 : 6, [s.batch])) }
        if s.initialStates {
            inputs.append(("H0", 1, s.stateShape))
            if s.cell == .lstm { inputs.append(("C0", 1, s.stateShape)) }
        }
        if let p = v.p { weight("P", [d, 3 * s.hidden], p) }
        var nodeInputs = ["X", "W", "R", v.b == nil ? "" : "B", s.lengths == nil ? "" : "L", s.initialStates ? "H0" : ""]
        if s.cell == .lstm { nodeInputs += [s.initialStates ? "C0" : "", v.p == nil ? "" : "P"] }
        while nodeInputs.last == "" { nodeInputs.removeLast() }
        var nodeOutputs = zip(c.outputNames, c.kept).map { c.omitUnused && !$1 ? "" : $0 }
        while nodeOutputs.last == "" { nodeOutputs.removeLast() }

        var graph = ProtoWriter()
        graph.message(1) { node in
            for name in nodeInputs { node.string(1, name) }
            for name in nodeOutputs { node.string(2, name) }
            node.string(3, "rnn")
            node.string(4, c.opType)
            node.message(5) { $0.string(1, "hidden_size"); $0.int(3, Int64(s.hidden)); $0.int(20, 2) }
            node.message(5) { $0.string(1, "direction"); $0.bytesField(4, Array(s.direction.utf8)); $0.int(20, 3) }
            if s.layout != 0 { node.message(5) { $0.string(1, "layout"); $0.int(3, Int64(s.layout)); $0.int(20, 2) } }
            if s.clip > 0 {
                node.message(5) { a in
                    a.string(1, "clip")
                    a.tag(2, 5)
                    a.bytes += floatBytes([s.clip])
                    a.int(20, 1)
                }
            }
            if s.inputForget { node.message(5) { $0.string(1, "input_forget"); $0.int(3, 1); $0.int(20, 2) } }
            if s.cell == .gruLinearBeforeReset { node.message(5) { $0.string(1, "linear_before_reset"); $0.int(3, 1); $0.int(20, 2) } }
        }
        for (name, shape, values) in initializers {
            graph.message(5) { t in
                for dim in shape { t.int(1, Int64(dim)) }
                t.int(2, 1)
                t.string(8, name)
                t.bytesField(9, floatBytes(values))
            }
        }
        func valueInfo(_ field: Int, _ name: String, _ type: Int, _ shape: [Int]) {
            graph.message(field) { info in
                info.string(1, name)
                info.message(2) { t in t.message(1) { tensor in
                    tensor.int(1, Int64(type))
                    tensor.message(2) { dims in for dim in shape { dims.message(1) { $0.int(1, Int64(dim)) } } }
                } }
            }
        }
        for (name, type, shape) in inputs { valueInfo(11, name, type, shape) }
        let outputShapes = [s.yShape, s.stateShape, s.stateShape]
        for (i, name) in c.outputNames.enumerated() where c.kept[i] { valueInfo(12, name, 1, outputShapes[i]) }
        var model = ProtoWriter()
        model.int(1, 8)
        model.message(8) { $0.int(2, 14) }
        model.message(7) { $0.bytes += graph.bytes }
        return model.bytes
    }

    static func feeds(_ c: RecurrentPlanCase, _ v: RecurrentKernelTests.Inputs, lengths: [Int]?) -> [String: Tensor] {
        let s = c.shape, d = s.directions, gh = s.gates * s.hidden
        var feeds: [String: Tensor] = ["X": Tensor(shape: s.xShape, scalars: v.x)]
        if c.weightsAsInputs {
            feeds["W"] = Tensor(shape: [d, gh, s.input], scalars: v.w)
            feeds["R"] = Tensor(shape: [d, gh, s.hidden], scalars: v.r)
            if let b = v.b { feeds["B"] = Tensor(shape: [d, 2 * gh], scalars: b) }
            if let p = v.p { feeds["P"] = Tensor(shape: [d, 3 * s.hidden], scalars: p) }
        }
        if let lengths {
            feeds["L"] = c.lengthsInt64 ? Tensor(shape: [s.batch], int64s: lengths.map(Int64.init))
                : Tensor(shape: [s.batch], int32s: lengths.map(Int32.init))
        }
        if let h0 = v.h0 { feeds["H0"] = Tensor(shape: s.stateShape, scalars: h0) }
        if let c0 = v.c0 { feeds["C0"] = Tensor(shape: s.stateShape, scalars: c0) }
        return feeds
    }

    static func load(_ bytes: [UInt8], planned: Bool) throws -> Model {
        try Model(bytes: bytes, modelDirectory: nil, options: ModelOptions(optimization: .none, plannedExecution: planned))
    }

    static func isPlanned(_ model: Model, _ feeds: [String: Tensor]) -> Bool {
        if case .plan? = model.graphForTesting.planEntry(for: model.inputs.map { feeds[$0.name]! }) { return true }
        return false
    }

    // MARK: Tests

    @Test("planned runs equal general-executor runs", arguments: cases)
    func plannedEqualsGeneral(_ c: RecurrentPlanCase) throws {
        let v = RecurrentKernelTests.inputs(c.shape, seed: UInt64(c.shape.seq * 31 + c.shape.hidden))
        let bytes = Self.model(c, v)
        let general = try Self.load(bytes, planned: false), planned = try Self.load(bytes, planned: true)
        // Different sequence lengths and state values per request: data, not shapes, for the plan.
        var rng = SplitMix64(seed: 7)
        for run in 0..<4 {
            var values = v
            if run > 0, values.h0 != nil { values.h0 = RecurrentKernelTests.random(values.h0!.count, &rng) }
            let lengths = c.shape.lengths.map { run == 0 ? $0 : $0.map { _ in Int(rng.next() % UInt64(c.shape.seq + 1)) } }
            let feeds = Self.feeds(c, values, lengths: lengths)
            let expected = try general.run(feeds), got = try planned.run(feeds)
            try #require(got.count == c.kept.filter { $0 }.count)
            for (g, e) in zip(got, expected) {
                #expect(g.shape == e.shape, "\(c) run \(run)")
                #expect(g.scalars == e.scalars, "\(c) run \(run)")
            }
            if run > 0 { #expect(Self.isPlanned(planned, feeds), "\(c): run \(run) should go through the plan") }
        }
        // And the general executor itself still matches the definition.
        let full = RecurrentKernelTests.reference(c.shape, v)
        let results = try general.run(Self.feeds(c, v, lengths: c.shape.lengths))
        let references = [full.y, full.h, full.c]
        var index = 0
        for (i, keep) in c.kept.enumerated() where keep {
            assertClose(results[index].scalars, references[i], context: "\(c) output \(i)")
            index += 1
        }
    }

    @Test("an out-of-range sequence length is rejected by the planned run, which then still works")
    func lengthsOutOfRange() throws {
        let c = Self.cases[1]
        let v = RecurrentKernelTests.inputs(c.shape, seed: 3)
        let bytes = Self.model(c, v)
        let planned = try Self.load(bytes, planned: true), general = try Self.load(bytes, planned: false)
        let good = Self.feeds(c, v, lengths: c.shape.lengths)
        _ = try planned.run(good)
        for bad in [[6, 3, 7, 1, 6, 5], [6, 3, 0, -1, 6, 5]] {
            let feeds = Self.feeds(c, v, lengths: bad)
            #expect(Self.isPlanned(planned, feeds))
            let message = "node 'rnn' (LSTM): sequence_lens must have 6 values in 0...6"
            #expect(throws: InferenceError.invalidInput(message), "\(bad)") { try planned.run(feeds) }
        }
        #expect(try planned.run(good).map(\.scalars) == general.run(good).map(\.scalars))
    }

    @Test("captured weights are not copied into the plan; weights that are inputs are read from it")
    func capturedWeights() throws {
        for c in [Self.cases[0], Self.cases[2]] {
            let v = RecurrentKernelTests.inputs(c.shape, seed: 5)
            let model = try Self.load(Self.model(c, v), planned: true)
            let feeds = Self.feeds(c, v, lengths: c.shape.lengths)
            _ = try model.run(feeds)
            guard case .plan(let plan)? = model.graphForTesting.planEntry(for: model.inputs.map { feeds[$0.name]! }) else {
                Issue.record("\(c) was not planned")
                continue
            }
            let kernel = try #require(plan.steps.first?.kernel as? BoundRecurrentKernel)
            #expect(kernel.readsInput(1) == c.weightsAsInputs && kernel.readsInput(2) == c.weightsAsInputs, "\(c)")
            #expect(kernel.readsInput(0) && kernel.readsInput(5))
            #expect(plan.constantBytes == 0, "\(c): the captured weights should not be copied")
        }
    }

    static let fixtureCases: [FixtureCase] = (opCases + nodeCases.map(\.fixture)).filter { c in
        ["lstm", "gru", "rnn"].contains { c.model.lowercased().contains($0) }
    }

    @Test("every recurrent op fixture and ONNX node test is planned and agrees", arguments: fixtureCases)
    func fixturesArePlanned(_ c: FixtureCase) throws {
        let feeds = c.inputs.mapValues(\.tensor)
        let general = try Model(contentsOf: repoPath(c.model), options: ModelOptions(plannedExecution: false))
        let planned = try Model(contentsOf: repoPath(c.model), options: ModelOptions(plannedExecution: true))
        let expected = try general.run(feeds)
        for run in 0..<3 {
            let got = try planned.run(feeds)
            #expect(got.map(\.scalars) == expected.map(\.scalars), "\(c) run \(run)")
        }
        #expect(Self.isPlanned(planned, feeds), "\(c)")
    }
}
