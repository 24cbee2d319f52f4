/// Name, element type and declared shape of a model input or output.
public struct ValueInfo: Sendable, Hashable {
    /// The ONNX value name clients use as the key in requests and responses.
    public var name: String
    /// The element type: float32, int64, int32 or bool.
    public var elementType: ElementType
    /// The declared shape; ``Dimension/symbolic(_:)`` dimensions are chosen per request.
    public var dimensions: [Dimension]

    /// Creates a description; the engine builds these from the model's graph inputs/outputs.
    public init(name: String, elementType: ElementType, dimensions: [Dimension]) {
        self.name = name
        self.elementType = elementType
        self.dimensions = dimensions
    }
}
