package org.transfergateway.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The SFTP listener.
 *
 * @param hostKey     the server's ed25519 key in OpenSSH format, created on first start when absent
 * @param idleTimeout how long a session may stay silent before it is closed
 */
public record SftpConfig(
        boolean enabled,
        String host,
        int port,
        Path hostKey,
        Duration idleTimeout) {

    /** The file name of the host key under the data directory when {@code host-key} is not set. */
    public static final String DEFAULT_HOST_KEY = "ssh_host_ed25519_key";

    /** SFTP off: what a config without an {@code sftp:} section gets. */
    public static SftpConfig disabled(Path dataDir) {
        return new SftpConfig(false, "127.0.0.1", 2222, dataDir.resolve(DEFAULT_HOST_KEY), Duration.ofMinutes(5));
    }
}
