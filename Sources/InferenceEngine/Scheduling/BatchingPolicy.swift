/// How a model's requests are queued, batched and run (the model's `config.json`).
public struct BatchingPolicy: Sendable, Hashable {
    /// Largest batch (sum of the requests' first dimensions) run at once; also the largest
    /// batch one request may carry.
    public var maxBatchSize: Int
    /// How long the oldest queued request may wait for company. 0 never waits: under load,
    /// batches form from whatever queued while the instances were busy.
    public var maxQueueDelayNanoseconds: UInt64
    /// Batch sizes the model runs best at; a batch is cut at the largest one available.
    public var preferredBatchSizes: [Int]
    /// Requests queued at most; one more is refused at once (RESOURCE_EXHAUSTED).
    public var maxQueueSize: Int
    /// Number of priority levels; 1 is the highest.
    public var priorityLevels: Int
    /// Priority of requests that do not ask for one.
    public var defaultPriority: Int
    /// Deadline applied to every request; a request may ask for a shorter one, never a longer
    /// one. 0 = none.
    public var defaultTimeoutNanoseconds: UInt64
    /// Batches of this model that may run at the same time.
    public var instanceCount: Int
    /// Batch axis of tensors (by input or output name) whose batch dimension the exporter did
    /// not name like the inputs' (recurrent state outputs are typical). Others are found by
    /// the symbol all inputs share.
    public var batchAxes: [String: Int] = [:]
    /// Requests that arrive together for an idle model run as one batch on the caller's (I/O)
    /// thread while that batch is expected to compute in less than this (from the model's
    /// recent per-row cost); a costlier batch goes to the compute pool, where it overlaps with
    /// the I/O thread's work. About two thread wake-ups on these machines.
    public var inlineBatchBudgetNanoseconds: UInt64 = 50_000
    /// Lets requests that differ in one variable dimension (a sequence length) share a batch:
    /// inputs are padded to the longest, a mask input marks the padding, and outputs are cut
    /// back. Nil batches only requests of identical shapes.
    public var padding: Padding?

    /// How variable-length requests are padded into one batch.
    public struct Padding: Sendable, Hashable {
        /// The symbolic dimension that may differ (for example `seq`).
        public var dimension: String
        /// A bool input with that dimension, true where a position is padding (PyTorch's
        /// `key_padding_mask` convention); padded positions are set to true.
        public var maskInput: String?

        public init(dimension: String, maskInput: String?) {
            self.dimension = dimension
            self.maskInput = maskInput
        }
    }

    public init(
        maxBatchSize: Int = 64, maxQueueDelayNanoseconds: UInt64 = 0, preferredBatchSizes: [Int] = [],
        maxQueueSize: Int = 1024, priorityLevels: Int = 1, defaultPriority: Int = 1,
        defaultTimeoutNanoseconds: UInt64 = 0, instanceCount: Int = 1, padding: Padding? = nil
    ) {
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelayNanoseconds = maxQueueDelayNanoseconds
        self.preferredBatchSizes = preferredBatchSizes
        self.maxQueueSize = maxQueueSize
        self.priorityLevels = priorityLevels
        self.defaultPriority = defaultPriority
        self.defaultTimeoutNanoseconds = defaultTimeoutNanoseconds
        self.instanceCount = instanceCount
        self.padding = padding
    }

    /// Why the policy cannot be used, or nil when it is valid.
    public var validationError: String? {
        if maxBatchSize < 1 || maxBatchSize > 65536 { return "max_batch_size must be 1...65536" }
        if preferredBatchSizes.contains(where: { $0 < 1 || $0 > maxBatchSize }) {
            return "preferred_batch_sizes must lie in 1...max_batch_size"
        }
        if maxQueueSize < 1 { return "max_queue_size must be at least 1" }
        if priorityLevels < 1 || priorityLevels > 16 { return "priority_levels must be 1...16" }
        if defaultPriority < 1 || defaultPriority > priorityLevels { return "default_priority must be 1...priority_levels" }
        if instanceCount < 1 || instanceCount > 256 { return "instance_count must be 1...256" }
        if maxQueueDelayNanoseconds > 10_000_000_000 { return "max_queue_delay_us must be at most 10 s" }
        return nil
    }
}
