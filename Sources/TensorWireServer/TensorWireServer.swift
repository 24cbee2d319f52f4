// TensorWireServer module: see docs/ARCHITECTURE.md.
