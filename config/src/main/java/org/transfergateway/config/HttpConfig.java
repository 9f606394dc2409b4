package org.transfergateway.config;

import java.time.Duration;

/**
 * The HTTP listener.
 *
 * @param tls true to serve HTTPS instead of HTTP
 */
public record HttpConfig(
        boolean enabled,
        String host,
        int port,
        int maxHeaderBytes,
        Duration idleTimeout,
        boolean tls) {

    /** A listener without TLS. */
    public HttpConfig(boolean enabled, String host, int port, int maxHeaderBytes, Duration idleTimeout) {
        this(enabled, host, port, maxHeaderBytes, idleTimeout, false);
    }
}
