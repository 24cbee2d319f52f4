// TensorWireProtocol module: see docs/ARCHITECTURE.md.
