/// The 8 bytes a client sends before its first frame.
///
/// PNG-style: the high-bit first byte catches 7-bit channels, CR LF and LF catch newline
/// translation, and 0x1A stops DOS `type`; a plaintext or HTTP client fails on byte 0.
public enum ConnectionPreface {
    public static let bytes: [UInt8] = [0x89, 0x54, 0x57, 0x52, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let length = 8
}
