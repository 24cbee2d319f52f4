// TensorWireClient module: see docs/ARCHITECTURE.md.
