package org.transfergateway.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The whole configuration of one gateway, immutable and already validated.
 *
 * @param dataDir where the gateway keeps its own state (the ledger by default)
 * @param shutdownGrace how long running transfers may go on after SIGTERM before they are aborted
 * @param demo    true when running on the embedded defaults with the demo user
 */
public record GatewayConfig(
        FtpConfig ftp,
        HttpConfig http,
        StorageConfig storage,
        List<UserConfig> users,
        LedgerConfig ledger,
        SecurityConfig security,
        LimitsConfig limits,
        Path dataDir,
        java.time.Duration shutdownGrace,
        boolean demo) {

    public GatewayConfig {
        users = List.copyOf(users);
    }

    public Optional<UserConfig> user(String name) {
        return users.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    /** The backend a user's files live on. */
    public BackendConfig backendOf(UserConfig user) {
        return storage.backend(user.backend())
                .orElseThrow(() -> new IllegalStateException("unknown backend " + user.backend()));
    }
}
