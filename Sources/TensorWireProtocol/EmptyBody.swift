/// Shared rule for methods whose request body is empty.
enum EmptyBody {
    static func check(_ body: UnsafeRawBufferPointer, _ what: StaticString) throws(Status) {
        guard body.isEmpty else { throw Status.invalid("\(body.count) trailing bytes after \(what)") }
    }
}
