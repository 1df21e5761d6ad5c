import Foundation

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: Error, Sendable {
    /// HTTP status code of the response (400, 401, 404, 413, 503, …).
    public let status: Int
    /// Explanation for a person (OpenAI's `error.message`).
    public let message: String
    /// OpenAI's `error.type`: `invalid_request_error`, `authentication_error`, `not_found_error` or `server_error`.
    public let type: String
    /// The request field at fault (OpenAI's `error.param`; nil: none).
    public let param: String?
    /// A machine-readable code such as `queue_full` (OpenAI's `error.code`; nil: none).
    public let code: String?

    /// An error answered with `status`; `type` defaults from it: 401 authentication, 404 not found, 5xx server,
    /// anything else an invalid request.
    public init(_ status: Int, _ message: String, type: String? = nil, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type =
            type
            ?? (status == 401
                ? "authentication_error" : status == 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error")
        self.param = param
        self.code = code
    }

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(400, message, param: param, code: code)
    }
}
