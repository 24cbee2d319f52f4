import Testing
import TensorWireServer

@Suite struct AllocatorTuningTests {
    /// glibc accepts both settings (a value outside its limits would be refused with 0).
    @Test func glibcAcceptsTheSettings() {
        #expect(AllocatorTuning.keepFreedMemoryForReuse())
    }
}
