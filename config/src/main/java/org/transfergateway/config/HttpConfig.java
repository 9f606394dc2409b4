package org.transfergateway.config;

import java.time.Duration;

/** The HTTP listener. */
public record HttpConfig(
        boolean enabled,
        String host,
        int port,
        int maxHeaderBytes,
        Duration idleTimeout) {
}
