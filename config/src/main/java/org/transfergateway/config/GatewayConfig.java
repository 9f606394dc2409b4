package org.transfergateway.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The whole configuration of one gateway, immutable and already validated.
 *
 * @param dataDir where the gateway keeps its own state (the ledger by default)
 * @param demo    true when running on the embedded defaults with the demo user
 */
public record GatewayConfig(
        FtpConfig ftp,
        HttpConfig http,
        StorageConfig storage,
        List<UserConfig> users,
        LedgerConfig ledger,
        SecurityConfig security,
        Path dataDir,
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

    /** Port 0 everywhere, for tests that start several gateways side by side. */
    public GatewayConfig withEphemeralPorts() {
        return new GatewayConfig(
                new FtpConfig(ftp.enabled(), ftp.host(), 0, ftp.passivePorts(), ftp.passiveAddress(),
                        ftp.idleTimeout(), ftp.maxConnections()),
                new HttpConfig(http.enabled(), http.host(), 0, http.maxHeaderBytes(), http.idleTimeout()),
                storage, users, ledger, security, dataDir, demo);
    }
}
