package org.transfergateway.config;

import java.time.Duration;

/**
 * Resource limits of both listeners.
 *
 * @param maxConnections           open connections per listener (FTP control, HTTP)
 * @param maxConnectionsPerAddress open connections per listener from one client address
 * @param minTransferRate          bytes per second below which a transfer is dropped once
 *                                 {@code rateGrace} has passed; 0 turns the check off
 * @param rateGrace                how long a transfer may run before its rate is checked
 * @param maxUploadBytes           the largest file an upload may write; 0 for no limit
 * @param maxConnectionsPerUser    logged-in sessions of one user at once, over every node
 *                                 sharing the ledger (FTP and SFTP sessions, HTTP connections
 *                                 that carry the user's requests); 0 for no limit
 */
public record LimitsConfig(
        int maxConnections,
        int maxConnectionsPerAddress,
        long minTransferRate,
        Duration rateGrace,
        long maxUploadBytes,
        int maxConnectionsPerUser) {

    public static final LimitsConfig DEFAULTS = new LimitsConfig(1000, 100, 0, Duration.ofSeconds(30), 0, 0);

    /** Without a limit of sessions per user. */
    public LimitsConfig(int maxConnections, int maxConnectionsPerAddress, long minTransferRate, Duration rateGrace,
                        long maxUploadBytes) {
        this(maxConnections, maxConnectionsPerAddress, minTransferRate, rateGrace, maxUploadBytes, 0);
    }
}
