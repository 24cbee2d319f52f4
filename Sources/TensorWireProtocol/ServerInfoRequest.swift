/// ServerInfo request: empty body.
public struct ServerInfoRequest: WireMessageBody, Hashable {
    public init() {}
    public func encode(into writer: inout ByteWriter, payloadStart: Int) {}
    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        try EmptyBody.check(body, "ServerInfo request")
    }
}
