package org.transfergateway.config;

import java.time.Duration;

/**
 * The FTP listener.
 *
 * @param passivePorts   the ports offered for passive data connections
 * @param passiveAddress the address announced in PASV/EPSV replies (the host when unset)
 * @param tls            whether and how the listener speaks TLS (FTPS)
 * @param requireTls     when true, logins and data transfers without TLS are refused
 */
public record FtpConfig(
        boolean enabled,
        String host,
        int port,
        PortRange passivePorts,
        String passiveAddress,
        Duration idleTimeout,
        Tls tls,
        boolean requireTls) {

    /** FTPS modes. */
    public enum Tls {
        /** Plain FTP only. */
        OFF,
        /** Plain at first, TLS after {@code AUTH TLS} (RFC 4217), on the normal port. */
        EXPLICIT,
        /** TLS from the first byte, as on port 990. */
        IMPLICIT
    }

    public FtpConfig {
        tls = tls == null ? Tls.OFF : tls;
    }

    /** A listener without TLS. */
    public FtpConfig(boolean enabled, String host, int port, PortRange passivePorts, String passiveAddress,
            Duration idleTimeout) {
        this(enabled, host, port, passivePorts, passiveAddress, idleTimeout, Tls.OFF, false);
    }
}
