// TensorWireTransport module: see docs/ARCHITECTURE.md.
