/// Replaces the decomposed GELU that exporters emit with one Gelu node:
/// - erf form: `x · 0.5 · (1 + erf(x / √2))` (Div by √2 or Mul by 1/√2);
/// - tanh form: `x · 0.5 · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` (x³ as Pow(x, 3),
///   x·x·x in either association).
/// The halving may come first (`(0.5·x) · (1 + …)`) or last (`(x · (1 + …)) · 0.5`).
struct GeluFusion: OptimizationPass {
    let name = "gelu-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard let match = matchErf(index, graph) ?? matchTanh(index, graph) else { return false }
            let gelu = UnaryKernel(op: .gelu, alpha: 0, beta: 0, approximateTanh: match.approximateTanh)
            let node = graph.node(named: graph.fusedName(Array(match.nodes)), opType: "Gelu", operation: .kernel(gelu),
                                  inputs: [match.x], outputs: [match.output])
            graph.replace(match.nodes, with: node)
            return true
        }
    }

    struct Match { var x: Int; var output: Int; var nodes: Set<Int>; var approximateTanh: Bool }

    /// `inner` is the output of erf/tanh (computed from `x` by the nodes `core`): match
    /// `+ 1`, the multiplication by x and the halving, in either order.
    private func matchTail(_ inner: Int, x: Int, core: Set<Int>, _ graph: OptimizerGraph) -> (output: Int, nodes: Set<Int>)? {
        guard let plusOne = graph.soleBinaryReader(of: inner, .add), graph.isScalar(plusOne.other, 1) else { return nil }
        let onePlus = graph.nodes[plusOne.index].outputs[0]
        guard let product = graph.soleBinaryReader(of: onePlus, .mul) else { return nil }
        var nodes = core.union([plusOne.index, product.index])
        let productOut = graph.nodes[product.index].outputs[0]
        if product.other == x {
            // (x · (1 + …)) · 0.5
            guard let half = graph.soleBinaryReader(of: productOut, .mul), graph.isScalar(half.other, 0.5) else { return nil }
            nodes.insert(half.index)
            return (graph.nodes[half.index].outputs[0], nodes)
        }
        // (0.5 · x) · (1 + …): the halving node must read x and feed only this product.
        guard let halfX = graph.producer(of: product.other), graph.soleReader(of: product.other) == product.index,
              let other = graph.otherOperand(halfX.index, .mul, besides: x), graph.isScalar(other, 0.5) else { return nil }
        nodes.insert(halfX.index)
        return (productOut, nodes)
    }

    private func matchErf(_ index: Int, _ graph: OptimizerGraph) -> Match? {
        guard graph.unaryOpType(index) == "Erf", let scaled = graph.nodes[index].inputs.first,
              let scale = graph.producer(of: scaled), graph.soleReader(of: scaled) == index else { return nil }
        let x: Int
        if let (a, b) = graph.binaryOperands(scale.index, .div), graph.isScalar(b, 1.4142135) {
            x = a
        } else if let (a, b) = graph.binaryOperands(scale.index, .mul) {
            if graph.isScalar(b, 0.70710678) { x = a } else if graph.isScalar(a, 0.70710678) { x = b } else { return nil }
        } else {
            return nil
        }
        guard graph.type(x) == .float32,
              let tail = matchTail(graph.nodes[index].outputs[0], x: x, core: [scale.index, index], graph) else { return nil }
        return Match(x: x, output: tail.output, nodes: tail.nodes, approximateTanh: false)
    }

    private func matchTanh(_ index: Int, _ graph: OptimizerGraph) -> Match? {
        guard graph.unaryOpType(index) == "Tanh", let scaled = graph.nodes[index].inputs.first,
              let scale = graph.producer(of: scaled), graph.soleReader(of: scaled) == index else { return nil }
        let (p, q) = graph.binaryOperands(scale.index, .mul) ?? (-1, -1)
        let inner = graph.isScalar(p, 0.7978846) ? q : (graph.isScalar(q, 0.7978846) ? p : -1)
        guard inner >= 0, let sum = graph.producer(of: inner), graph.soleReader(of: inner) == scale.index,
              let (s0, s1) = graph.binaryOperands(sum.index, .add) else { return nil }
        // One addend is x, the other 0.044715·x³.
        for (x, cubicTerm) in [(s0, s1), (s1, s0)] {
            guard let term = graph.producer(of: cubicTerm), graph.soleReader(of: cubicTerm) == sum.index,
                  let (t0, t1) = graph.binaryOperands(term.index, .mul) else { continue }
            let cube = graph.isScalar(t0, 0.044715) ? t1 : (graph.isScalar(t1, 0.044715) ? t0 : -1)
            guard cube >= 0, let cubeNodes = matchCube(cube, x: x, reader: term.index, graph) else { continue }
            let core = cubeNodes.union([term.index, sum.index, scale.index, index])
            if let tail = matchTail(graph.nodes[index].outputs[0], x: x, core: core, graph) {
                return Match(x: x, output: tail.output, nodes: tail.nodes, approximateTanh: true)
            }
        }
        return nil
    }

    /// Nodes computing `cube = x³` (read only by `reader`): Pow(x, 3), x·(x·x) or (x·x)·x.
    private func matchCube(_ cube: Int, x: Int, reader: Int, _ graph: OptimizerGraph) -> Set<Int>? {
        guard let p = graph.producer(of: cube), graph.soleReader(of: cube) == reader else { return nil }
        if case .kernel(let k as BinaryKernel) = p.node.operation, k.op == .pow,
           p.node.inputs.count == 2, p.node.inputs[0] == x, graph.isScalar(p.node.inputs[1], 3) {
            return [p.index]
        }
        guard let square = graph.otherOperand(p.index, .mul, besides: x),
              let sq = graph.producer(of: square), graph.soleReader(of: square) == p.index,
              graph.binaryOperands(sq.index, .mul).map({ $0.a == x && $0.b == x }) == true else { return nil }
        return [p.index, sq.index]
    }
}
