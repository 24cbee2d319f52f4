#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file; nil if it cannot be opened or read.
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes.append(contentsOf: chunk[..<n]) }
        if n < chunk.count { break }
    }
    return ferror(file) == 0 ? bytes : nil
}

/// Writes `text` to `path`, replacing it.
public func writeTextFile(_ path: String, _ text: String) throws(ReportError) {
    guard let file = fopen(path, "wb") else { throw ReportError("cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
    defer { fclose(file) }
    var text = text
    let ok = text.withUTF8 { buffer in
        buffer.isEmpty || fwrite(buffer.baseAddress, 1, buffer.count, file) == buffer.count
    }
    guard ok else { throw ReportError("cannot write \(path)") }
}

/// A report could not be written.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
