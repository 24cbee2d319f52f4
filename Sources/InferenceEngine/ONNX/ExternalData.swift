#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads tensor bytes stored outside the `.onnx` file (`data_location = EXTERNAL`).
///
/// The `location` comes from an untrusted file, and path traversal through it is a known CVE
/// class (CVE-2022-25882, CVE-2024-27318). It is therefore resolved strictly inside the model's
/// directory: absolute paths, `..` components, backslashes and NUL bytes are refused outright,
/// and the resolved path (`realpath`, so symlinks are followed) must still lie inside the
/// resolved model directory and be a regular file. `offset` and `length` must be plain decimal
/// numbers, lie inside the file, and `length` must equal the tensor's declared byte size; all of
/// this is checked before any allocation.
struct ExternalDataReader {
    /// `realpath` of the model directory.
    let directory: String

    init(modelDirectory: String) throws(ModelLoadError) {
        guard let resolved = Self.realPath(modelDirectory.isEmpty ? "." : modelDirectory) else {
            throw ModelLoadError("cannot resolve the model directory '\(modelDirectory)' for external data")
        }
        directory = resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    func read(_ entries: [(key: String, value: String)], expectedBytes: Int, what: String) throws(ModelLoadError) -> [UInt8] {
        func fail(_ reason: String) -> ModelLoadError { ModelLoadError("\(what): external data \(reason)") }
        var location: String?, offset = 0, length: Int?
        for (key, value) in entries {
            switch key {
            case "location": location = value
            case "offset", "length":
                guard !value.isEmpty, value.count <= 19, value.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(value) else {
                    throw fail("has an invalid \(key) '\(value)'")
                }
                if key == "offset" { offset = v } else { length = v }
            case "checksum": break
            default: throw fail("has an unknown key '\(key)'")
            }
        }
        guard let location, !location.isEmpty else { throw fail("has no location") }
        guard !location.hasPrefix("/") else { throw fail("location '\(location)' is an absolute path; it must be relative to the model directory") }
        guard !location.contains("\\"), !location.contains("\0") else { throw fail("location '\(location)' contains a backslash or NUL byte") }
        guard !location.split(separator: "/", omittingEmptySubsequences: false).contains("..") else {
            throw fail("location '\(location)' contains a '..' component; it must stay inside the model directory")
        }
        let candidate = directory + "/" + location
        guard let resolved = Self.realPath(candidate) else { throw fail("file '\(location)' does not exist in the model directory") }
        guard resolved.hasPrefix(directory + "/") || (directory == "/" && resolved.hasPrefix("/")) else {
            throw fail("location '\(location)' resolves outside the model directory (symlink?)")
        }
        var info = stat()
        guard stat(resolved, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw fail("location '\(location)' is not a regular file") }
        let fileSize = Int(info.st_size)
        let byteCount = length ?? (fileSize - offset)
        guard byteCount == expectedBytes else {
            throw fail("length \(byteCount) does not match the tensor's \(expectedBytes) bytes")
        }
        guard offset >= 0, offset <= fileSize, byteCount <= fileSize - offset else {
            throw fail("range offset \(offset) + length \(byteCount) lies beyond the end of '\(location)' (\(fileSize) bytes)")
        }
        guard let file = fopen(resolved, "rb") else { throw fail("cannot open '\(location)': \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        guard fseeko(file, off_t(offset), SEEK_SET) == 0 else { throw fail("cannot seek in '\(location)'") }
        var readCount = 0
        let bytes = [UInt8](uninitializedCount: byteCount) { buffer, initialized in
            if byteCount > 0 { readCount = fread(buffer.baseAddress!, 1, byteCount, file) }
            initialized = readCount
        }
        guard readCount == byteCount else { throw fail("short read from '\(location)' (\(readCount) of \(byteCount) bytes)") }
        return bytes
    }
}
