import CLMKitKernels
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The threads behind ``Parallel``: `threads − 1` persistent workers plus the calling thread.
///
/// Decoding runs a few hundred short parallel loops per token (tens of microseconds each). Waking a
/// sleeping thread costs about as much (measured: ~13% of generation time in the kernel's futex
/// and scheduler paths with `DispatchQueue.concurrentPerform`), so after a loop the workers spin on
/// an atomic counter for a short while (`spinMicroseconds`) and only then sleep on a condition
/// variable, as llama.cpp's threads do. Chunks are handed out through an atomic counter: the caller
/// takes a worker's chunk itself if that worker is slow to start, and does not wait for it to wake.
///
/// One loop runs at a time; a thread that finds the pool busy (another thread's loop, e.g. two
/// server requests) runs its loop alone rather than waiting.
final class WorkerPool: @unchecked Sendable {
    let workerCount: Int
    /// How long an idle worker spins before it sleeps.
    let spinNanoseconds: UInt64

    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    /// Chunks finished in the current loop.
    private let done = Atomic<Int>(0)
    /// Workers inside the current loop, and whether the loop still admits them: a worker that wakes
    /// after the caller has finished every chunk must not touch `job` once `run` is returning.
    private let active = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    /// The current loop (valid only while `run` is on the stack) and its chunk count; written before
    /// `generation` is bumped (release), read after it is seen (acquire).
    private var job: ((Int) -> Void)?
    private var chunkCount = 0

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let busy = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(workers: Int, spinMicroseconds: Int) {
        workerCount = workers
        spinNanoseconds = UInt64(max(0, spinMicroseconds)) * 1000
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(busy, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<workers {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()  // the pool lives as long as the process
            let status = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<WorkerPool>.fromOpaque(context!).takeUnretainedValue().workerLoop()
                }, context)
            precondition(status == 0, "could not start a worker thread (pthread_create: \(status))")
            pthread_detach(thread)
        }
    }

    /// Calls `body(c)` for every chunk `c` in `0..<chunks`, on the workers and this thread; returns
    /// when all are done.
    func run(_ chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 1, workerCount > 0, pthread_mutex_trylock(busy) == 0 else {
            for c in 0..<chunks { body(c) }
            return
        }
        defer { pthread_mutex_unlock(busy) }
        withoutActuallyEscaping(body) { body in
            job = body
            chunkCount = chunks
            nextChunk.store(0, ordering: .relaxed)
            done.store(0, ordering: .relaxed)
            closed.store(false, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            insideRegion.withValue(true) { runChunks() }
            while done.load(ordering: .acquiring) < chunks { lmk_cpu_relax() }
            closed.store(true, ordering: .sequentiallyConsistent)
            while active.load(ordering: .sequentiallyConsistent) > 0 { lmk_cpu_relax() }
            job = nil
        }
    }

    /// Takes chunks until none is left. Not inlined, so that a worker's reference to `job` ends
    /// before it leaves the loop (the closure must not outlive `run`).
    @inline(never)
    private func runChunks() {
        guard let body = job else { return }
        let count = chunkCount
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if c >= count { break }
            body(c)
            done.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() -> Never {
        insideRegion.set(true)
        var seen = generation.load(ordering: .acquiring)
        while true {
            waitForJob(after: seen)
            seen = generation.load(ordering: .acquiring)
            active.add(1, ordering: .sequentiallyConsistent)
            if !closed.load(ordering: .sequentiallyConsistent) { runChunks() }
            active.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Spins until `generation` moves past `seen`, then sleeps on the condition variable.
    private func waitForJob(after seen: Int) {
        let deadline = now() &+ spinNanoseconds
        var spins = 0
        while generation.load(ordering: .acquiring) == seen {
            lmk_cpu_relax()
            spins += 1
            if spins & 127 == 0 && now() > deadline {
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(mutex)
                return
            }
        }
    }

    private func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}
