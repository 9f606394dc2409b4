package org.transfergateway.protocols.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.FolderRule;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The configured users: checks their passwords and opens their files on their backend.
 * Shared by the FTP and HTTP front ends so that both accept exactly the same logins.
 */
public final class Accounts {
    private final Map<String, UserConfig> users = new ConcurrentHashMap<>();
    private final List<UserConfig> inOrder;
    private final Map<String, Storage> backends;
    private final TransferMeter meter;
    /**
     * Digests of passwords that matched a hash. HTTP sends Basic credentials with every
     * request; running PBKDF2 each time would cost ~0.5 s a request.
     */
    private final Map<String, byte[]> verified = new ConcurrentHashMap<>();

    private final LoginGuard guard;
    private final UserSessions sessions;
    private final long maxUploadBytes;

    public Accounts(GatewayConfig config, Map<String, Storage> backends, TransferMeter meter) {
        this.guard = new LoginGuard(config.security(), java.time.Clock.systemUTC());
        this.sessions = new UserSessions(config.limits().maxConnectionsPerUser());
        this.maxUploadBytes = config.limits().maxUploadBytes();
        for (UserConfig u : config.users()) {
            if (u.passwordHash() != null && !Passwords.isHash(u.passwordHash())) {
                throw new ConfigException("users: " + u.name() + ": password-hash is not the output of hash-password");
            }
            users.put(u.name(), u);
        }
        this.inOrder = List.copyOf(config.users());
        this.backends = Map.copyOf(backends);
        this.meter = meter;
    }

    /** Every configured user, in config order. */
    public List<UserConfig> users() {
        return inOrder;
    }

    /** The user with these credentials, or empty. Unknown users and wrong passwords look alike. */
    public Optional<UserConfig> authenticate(String name, String password) {
        if (name == null || password == null) {
            return Optional.empty();
        }
        UserConfig u = users.get(name);
        if (u == null) {
            return Optional.empty();
        }
        if (u.password() != null) {
            return Passwords.equal(password, u.password()) ? Optional.of(u) : Optional.empty();
        }
        byte[] digest = sha256(name + "\0" + password + "\0" + u.passwordHash());
        byte[] known = verified.get(name);
        if (known != null && MessageDigest.isEqual(known, digest)) {
            return Optional.of(u);
        }
        if (Passwords.verify(password, u.passwordHash())) {
            verified.put(name, digest);
            return Optional.of(u);
        }
        return Optional.empty();
    }

    /**
     * Like {@link #authenticate(String, String)}, counted against {@code client} by the
     * {@link LoginGuard}; a banned address is refused whatever it sends. The caller
     * delays its refusal by {@link LoginGuard#failureDelay()}.
     */
    public Optional<UserConfig> authenticate(String name, String password, java.net.InetAddress client) {
        if (!guard.banRemaining(client).isZero()) {
            return Optional.empty();
        }
        Optional<UserConfig> user = authenticate(name, password);
        if (user.isPresent()) {
            guard.succeeded(client);
        } else {
            guard.failed(client);
        }
        return user;
    }

    public LoginGuard guard() {
        return guard;
    }

    /** The logged-in sessions per user, held to {@code limits.max-connections-per-user}. */
    public UserSessions sessions() {
        return sessions;
    }

    /**
     * Counts failed logins, bans and sessions together with the other gateways that share
     * {@code ledger}; nothing changes where it is not shared.
     */
    public void share(Ledger ledger) {
        if (!ledger.shared()) {
            return;
        }
        sessions.share(ledger);
        guard.share(new LoginGuard.SharedRecords() {
            @Override
            public void failed(String address, int maxFailures, java.time.Duration window, java.time.Duration ban) {
                ledger.loginFailed(address, maxFailures, window, ban);
            }

            @Override
            public void succeeded(String address) {
                ledger.loginSucceeded(address);
            }

            @Override
            public Map<String, java.time.Instant> bans() throws java.io.IOException {
                return ledger.bans();
            }
        });
    }

    public Optional<UserConfig> user(String name) {
        return Optional.ofNullable(users.get(name));
    }

    /** The user's files, counted as transfers of {@code protocol}. */
    public UserFiles files(UserConfig user, Protocol protocol) {
        Map<String, Storage> folders = new java.util.HashMap<>();
        for (FolderRule rule : user.folders()) {
            folders.put(rule.path(), target(rule.backend(), user));
        }
        return new UserFiles(target(user.backend(), user), folders, user.name(), user.home(), protocol, meter,
                user.policy(), maxUploadBytes);
    }

    private Storage target(String name, UserConfig user) {
        Storage target = backends.get(name);
        if (target == null) {
            throw new IllegalStateException("no backend or pool " + name + " for " + user.name());
        }
        return target;
    }

    public TransferMeter meter() {
        return meter;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
