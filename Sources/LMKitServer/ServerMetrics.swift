import Foundation

/// Counters for `/metrics`, in Prometheus' text exposition format.
public final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]  // "route|status" → count
    private var durations: [String: (count: Int, sum: Double)] = [:]
    private var promptTokens = 0, completionTokens = 0, reusedTokens = 0, cancelled = 0

    func record(route: String, status: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        requests["\(route)|\(status)", default: 0] += 1
        let d = durations[route] ?? (0, 0)
        durations[route] = (d.count + 1, d.sum + seconds)
    }

    func tokens(prompt: Int, completion: Int, reused: Int, wasCancelled: Bool) {
        lock.lock(); defer { lock.unlock() }
        promptTokens += prompt
        completionTokens += completion
        reusedTokens += reused
        if wasCancelled { cancelled += 1 }
    }

    func text(queued: Int) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = "# HELP lmkit_requests_total HTTP requests by route and status.\n# TYPE lmkit_requests_total counter\n"
        for key in requests.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1)
            out += "lmkit_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(requests[key]!)\n"
        }
        out += "# HELP lmkit_request_duration_seconds Time to answer, by route.\n# TYPE lmkit_request_duration_seconds summary\n"
        for route in durations.keys.sorted() {
            out += "lmkit_request_duration_seconds_sum{route=\"\(route)\"} \(durations[route]!.sum)\n"
            out += "lmkit_request_duration_seconds_count{route=\"\(route)\"} \(durations[route]!.count)\n"
        }
        out += """
            # HELP lmkit_prompt_tokens_total Prompt tokens of completed requests.
            # TYPE lmkit_prompt_tokens_total counter
            lmkit_prompt_tokens_total \(promptTokens)
            # HELP lmkit_prompt_tokens_reused_total Prompt tokens taken from the KV cache instead of recomputed.
            # TYPE lmkit_prompt_tokens_reused_total counter
            lmkit_prompt_tokens_reused_total \(reusedTokens)
            # HELP lmkit_completion_tokens_total Generated tokens.
            # TYPE lmkit_completion_tokens_total counter
            lmkit_completion_tokens_total \(completionTokens)
            # HELP lmkit_generations_cancelled_total Generations stopped because the client went away.
            # TYPE lmkit_generations_cancelled_total counter
            lmkit_generations_cancelled_total \(cancelled)
            # HELP lmkit_queue_depth Requests queued or running on the model.
            # TYPE lmkit_queue_depth gauge
            lmkit_queue_depth \(queued)

            """
        return out
    }
}
