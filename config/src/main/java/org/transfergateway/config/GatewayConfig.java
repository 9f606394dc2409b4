package org.transfergateway.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The whole configuration of one gateway, immutable and already validated.
 *
 * @param sftp    the SFTP listener, off unless the config has an {@code sftp:} section
 * @param tls     the certificate and key for the listeners that speak TLS
 * @param dataDir where the gateway keeps its own state (the ledger by default)
 * @param shutdownGrace how long running transfers may go on after SIGTERM before they are aborted
 * @param demo    true when running on the embedded defaults with the demo user
 * @param cluster this gateway's place among those sharing its ledger
 * @param webdav  the WebDAV front end under {@code /dav/} on the HTTP listener
 * @param listeners what all listeners share: whether connections come with a PROXY header
 * @param tus     resumable uploads under {@code /tus/} on the HTTP listener
 */
public record GatewayConfig(
        FtpConfig ftp,
        HttpConfig http,
        SftpConfig sftp,
        StorageConfig storage,
        List<UserConfig> users,
        LedgerConfig ledger,
        SecurityConfig security,
        LimitsConfig limits,
        TlsConfig tls,
        Path dataDir,
        java.time.Duration shutdownGrace,
        boolean demo,
        ClusterConfig cluster,
        WebDavConfig webdav,
        ListenersConfig listeners,
        TusConfig tus) {

    public GatewayConfig {
        users = List.copyOf(users);
    }

    public Optional<UserConfig> user(String name) {
        return users.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    /**
     * The backend a user's files live on, for a user that names a single backend.
     *
     * @throws IllegalStateException when the user names a pool: see {@link StorageConfig#pool}
     */
    public BackendConfig backendOf(UserConfig user) {
        return storage.backend(user.backend())
                .orElseThrow(() -> new IllegalStateException(storage.isPool(user.backend())
                        ? user.name() + " is on the pool " + user.backend() + ", not on one backend"
                        : "unknown backend " + user.backend()));
    }
}
