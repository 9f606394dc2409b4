package org.transfergateway.config;

import java.time.Duration;

/**
 * The FTP listener.
 *
 * @param passivePorts   the ports offered for passive data connections
 * @param passiveAddress the address announced in PASV/EPSV replies (the host when unset)
 */
public record FtpConfig(
        boolean enabled,
        String host,
        int port,
        PortRange passivePorts,
        String passiveAddress,
        Duration idleTimeout) {
}
