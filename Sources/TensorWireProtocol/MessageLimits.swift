/// Decode-time limits for REQUEST/RESPONSE heads and bodies. Each count or length is checked
/// as soon as it is read, before anything is allocated for it.
public struct MessageLimits: Sendable, Hashable {
    /// Total key+value bytes of one metadata block (the receiver's MAX_METADATA_SIZE).
    public var maxMetadataSize = 8192
    public var maxMetadataEntries = 64
    /// Tensors per message, and also the cap on other per-message lists (versions, models, ...).
    public var maxTensors = 256
    public var maxRank = 8
    /// Free-text strings (status messages, platform, version strings).
    public var maxStringLength = 1024
    /// Identifiers: method, model, tensor, server and extension names.
    public var maxNameLength = 256

    public init() {}

    public static let `default` = MessageLimits()

    /// Limits matching the settings this side announced.
    public init(settings: ConnectionSettings) {
        self.init()
        maxMetadataSize = settings.maxMetadataSize
    }
}
