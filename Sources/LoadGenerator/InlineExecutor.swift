/// The task executor of open-loop calls: it runs every job at once, on the thread that
/// enqueues it.
///
/// A call's task is started by its pacing thread, so the request is written from that thread
/// before `dispatch` returns (no hand-off delays the send). When the response arrives, the
/// client's reader thread resumes the call, and the rest of the task (taking the completion
/// instant and recording it) runs right there, as the response is delivered: no other thread has
/// to be woken, so neither the latency nor the client's CPU cost includes a hand-off, and
/// nothing depends on the Swift concurrency pool, whose few threads (one per core) other work may
/// occupy. The code after the await only records into a ``Recorder`` (a short pthread lock) and
/// never calls back into the client, so running it on the reader thread cannot deadlock.
final class InlineExecutor: TaskExecutor, @unchecked Sendable {
    func enqueue(_ job: consuming ExecutorJob) {
        job.runSynchronously(on: asUnownedTaskExecutor())
    }
}
