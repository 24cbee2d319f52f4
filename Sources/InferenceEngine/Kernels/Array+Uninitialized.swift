extension Array {
    /// `Array(unsafeUninitializedCapacity:initializingWith:)`, except that an empty result
    /// never touches the standard library's shared empty-array storage: for capacity 0 that
    /// initializer writes the count (0) into the global singleton, so two threads making empty
    /// tensors at once race on it (ThreadSanitizer reports it, and a write to shared memory is
    /// a race even when the value does not change). `body` still runs, on an empty buffer whose
    /// base address is valid.
    @inline(__always)
    init<E: Error>(uninitializedCount count: Int,
                   initializingWith body: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws(E) -> Void) throws(E) {
        guard count == 0 else {
            var failure: E?
            self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
                do throws(E) { try body(&buffer, &initialized) } catch { failure = error; initialized = 0 }
            }
            if let failure { throw failure }
            return
        }
        var failure: E?
        withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { slot in
            var empty = UnsafeMutableBufferPointer(start: slot.baseAddress, count: 0)
            var initialized = 0
            do throws(E) { try body(&empty, &initialized) } catch { failure = error }
        }
        if let failure { throw failure }
        self = []
    }
}
