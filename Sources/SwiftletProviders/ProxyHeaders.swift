import HTTPTypes

extension HTTPField.Name {
    /// The call's id, on requests to a function and on every answer.
    public static let xCallID = HTTPField.Name("X-Call-Id")!
    /// When the gateway received the call, in Unix nanoseconds.
    public static let xStartTime = HTTPField.Name("X-Start-Time")!
    /// The client addresses the call came through.
    public static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// The host the client asked for.
    public static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}

/// Header rules shared by the proxy and the async queue.
public enum ProxyHeaders {
    /// Hop-by-hop headers, never forwarded (Content-Length is set anew).
    public static let hopByHop: Set<HTTPField.Name> = [
        .connection, .transferEncoding, .upgrade, .te, .proxyAuthorization, .proxyAuthenticate,
        HTTPField.Name("Keep-Alive")!, HTTPField.Name("Trailer")!, .contentLength,
    ]
}
