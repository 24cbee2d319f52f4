import TensorWireProtocol

/// Deterministic RNG so random splits and fuzz inputs are reproducible (SplitMix64).
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteWriter {
    var bytes: [UInt8] { withUnsafeReadableBytes { Array($0) } }
}

/// Builds bytes with a fresh writer.
func encode(_ build: (inout ByteWriter) -> Void) -> [UInt8] {
    var w = ByteWriter()
    build(&w)
    return w.bytes
}

/// A frame copied out of the decoder, so tests can inspect it after the next call.
struct OwnedFrame: Equatable {
    var header: FrameHeader
    var payload: [UInt8]
    var payloadWasAligned: Bool
}

enum DecodeOutcome: Equatable {
    case frames([OwnedFrame], leftover: Int)
    case error(ConnectionError, framesBefore: Int)
}

/// Feeds `bytes` to a fresh decoder in the given chunk sizes, draining frames after each chunk.
func decodeAll(_ bytes: [UInt8], chunks: [Int]? = nil, maxPayloadSize: Int = 4 << 20, server: Bool = true) -> DecodeOutcome {
    var decoder = FrameDecoder(maxPayloadSize: maxPayloadSize, expectsPreface: server)
    var frames: [OwnedFrame] = []
    var offset = 0
    let sizes = chunks ?? [bytes.count]
    for size in sizes where offset < bytes.count {
        let n = min(size, bytes.count - offset)
        bytes[offset..<offset + n].withUnsafeBytes { decoder.append($0) }
        offset += n
        do {
            while let f = try decoder.next() {
                frames.append(OwnedFrame(header: f.header, payload: Array(f.payload),
                                         payloadWasAligned: Int(bitPattern: f.payload.baseAddress) % 64 == 0))
            }
        } catch {
            return .error(error, framesBefore: frames.count)
        }
    }
    return .frames(frames, leftover: decoder.bufferedByteCount)
}

/// Random chunk sizes (1...maxChunk) covering `total` bytes.
func randomChunks(total: Int, maxChunk: Int, rng: inout SeededRNG) -> [Int] {
    var out: [Int] = []
    var left = total
    while left > 0 {
        let n = min(left, Int.random(in: 1...maxChunk, using: &rng))
        out.append(n)
        left -= n
    }
    return out
}

/// Standard client opening: preface + default HELLO.
func clientOpening() -> [UInt8] {
    encode { $0.writePreface(); $0.writeHello(Hello()) }
}
