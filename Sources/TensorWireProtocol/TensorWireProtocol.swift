// TensorWireProtocol: the TensorWire v1 wire format as value types, with no I/O.
// The normative description is proto-spec/PROTOCOL.md; this module follows it.
