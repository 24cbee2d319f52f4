/// Stats request: string model_name (empty = every model).
public struct StatsRequest: WireMessageBody, Hashable {
    public var modelName: String

    public init(modelName: String = "") { self.modelName = modelName }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        w.writeString(modelName)
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        modelName = try r.string(maxLength: limits.maxNameLength, "model name")
        try r.expectEnd("Stats request")
    }
}
