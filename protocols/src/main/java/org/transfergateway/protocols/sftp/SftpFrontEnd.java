package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.compression.BuiltinCompressions;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.file.FileSystemFactory;
import org.apache.sshd.common.kex.BuiltinDHFactories;
import org.apache.sshd.common.kex.DHFactory;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.mac.BuiltinMacs;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.AsyncAuthException;
import org.apache.sshd.server.auth.password.UserAuthPasswordFactory;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.SftpModuleProperties;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.config.SftpConfig;
import org.transfergateway.config.UserConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.meter.Protocol;

/**
 * The SFTP listener: Apache MINA SSHD with the SFTP subsystem only (no shell, no commands,
 * no forwarding), logins by password (through {@link Accounts}, with the same ban as FTP and
 * HTTP) or by the user's authorized keys, and each session's files as a
 * {@link UserFileSystem} over the user's storage chain. Algorithms are those OpenSSH
 * offers by default today, without SHA-1 and CBC.
 */
public final class SftpFrontEnd implements AutoCloseable {
    /** The id SFTP transfers are counted under. */
    public static final Protocol PROTOCOL = Protocol.of("sftp");

    private static final AttributeRepository.AttributeKey<UserConfig> USER = new AttributeRepository.AttributeKey<>();

    private final SftpConfig config;
    private final LimitsConfig limits;
    private final Accounts accounts;
    /** Made at start, once {@link #withProxyProtocol} has said when sessions are counted. */
    private volatile SessionLimits sessionLimits;
    private final Map<String, List<PublicKey>> keys;
    private SshServer server;
    private ScheduledExecutorService delays;
    /** The sweep of limits.min-transfer-rate over open handles; apart from login delays, as an abort may wait on storage. */
    private ScheduledExecutorService sweeper;
    private final Set<HandleChannel> transfers = ConcurrentHashMap.newKeySet();
    private volatile String fingerprint;
    private boolean proxyProtocol;

    public SftpFrontEnd(SftpConfig config, LimitsConfig limits, Accounts accounts) {
        this.config = config;
        this.limits = limits;
        this.accounts = accounts;
        this.keys = authorizedKeys(accounts.users());
        accounts.meter().announce(PROTOCOL);
    }

    /** Each user's keys, parsed once; a line the config check let through but SSHD cannot read is a config mistake. */
    private static Map<String, List<PublicKey>> authorizedKeys(List<UserConfig> users) {
        Map<String, List<PublicKey>> out = new HashMap<>();
        for (UserConfig u : users) {
            List<PublicKey> list = new ArrayList<>();
            for (int i = 0; i < u.authorizedKeys().size(); i++) {
                try {
                    AuthorizedKeyEntry entry = AuthorizedKeyEntry.parseAuthorizedKeyEntry(u.authorizedKeys().get(i));
                    list.add(entry.resolvePublicKey(null, PublicKeyEntryResolver.FAILING));
                } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
                    throw new ConfigException("users: " + u.name() + ": authorized-keys[" + i + "]", "cannot be read: " + e.getMessage());
                }
            }
            out.put(u.name(), List.copyOf(list));
        }
        return Map.copyOf(out);
    }

    /**
     * Expects a PROXY v1/v2 header first on every connection and takes the client's address
     * from it ({@code listeners.proxy-protocol}); called before {@link #start()}.
     */
    public SftpFrontEnd withProxyProtocol(boolean enabled) {
        proxyProtocol = enabled;
        return this;
    }

    /** Binds and starts accepting; returns the bound address (port 0 picks a free port). */
    public InetSocketAddress start() throws IOException {
        KeyPair hostKey = HostKey.loadOrCreate(config.hostKey());
        delays = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sftp-login-delay");
            t.setDaemon(true);
            return t;
        });

        // The builder's defaults (channel types, global requests), with the subclass that can stop listening.
        SshServer sshd = ServerBuilder.builder().factory(AcceptorAccess::new).build();
        sshd.setHost(config.host());
        sshd.setPort(config.port());
        sshd.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
        modernAlgorithms(sshd);
        CoreModuleProperties.IDLE_TIMEOUT.set(sshd, config.idleTimeout());
        CoreModuleProperties.MAX_AUTH_REQUESTS.set(sshd, 6);
        CoreModuleProperties.SERVER_IDENTIFICATION.set(sshd, "TransferGateway");
        // Each SFTP request waits for its answer: with Nagle's algorithm a small answer waits
        // for the client's delayed ACK (some 40 ms), per file on a session of small uploads.
        CoreModuleProperties.TCP_NODELAY.set(sshd, true);
        // Version 3 only, what OpenSSH speaks: the later versions' text mode, ACLs and locks have no meaning here.
        SftpModuleProperties.SFTP_VERSION.set(sshd, SftpConstants.SFTP_V3);

        // OpenSSH's choice: compression only after login, never on what an unknown client sends first.
        sshd.setCompressionFactories(new ArrayList<>(NamedFactory.setUpBuiltinFactories(false,
                List.of(BuiltinCompressions.none, BuiltinCompressions.delayedZlib))));
        sshd.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE, UserAuthPasswordFactory.INSTANCE));
        sshd.setPasswordAuthenticator(this::password);
        sshd.setPublickeyAuthenticator(this::publicKey);
        sshd.setKeyboardInteractiveAuthenticator(null);
        sshd.setGSSAuthenticator(null);
        sshd.setHostBasedAuthenticator(null);

        // No shell, no exec, no forwarding: SFTP is the only thing a session can do.
        sshd.setShellFactory(null);
        sshd.setCommandFactory(null);
        sshd.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
        sshd.setAgentFactory(null);

        SftpSubsystemFactory sftp = new SftpSubsystemFactory();
        sftp.setFileSystemAccessor(new GatewayFileAccessor());
        sftp.setErrorStatusDataHandler(new SftpErrors());
        sftp.addSftpEventListener(GatewayFileAccessor.CLOSE_WATCH);
        sshd.setSubsystemFactories(List.of(sftp));
        sshd.setFileSystemFactory(new FileSystemFactory() {
            @Override
            public Path getUserHomeDir(SessionContext session) {
                return null; // "/" of the user's file system is its home
            }

            @Override
            public FileSystem createFileSystem(SessionContext session) throws IOException {
                UserConfig user = session.getAttribute(USER);
                if (user == null) {
                    throw new IOException("no user logged in");
                }
                return new UserFileSystem(accounts.files(user, PROTOCOL), limits, transfers);
            }
        });
        sessionLimits = new SessionLimits(limits, accounts.sessions(), proxyProtocol);
        sshd.addSessionListener(sessionLimits);
        if (proxyProtocol) {
            sshd.setServerProxyAcceptor(new ProxyHeaderAcceptor(sessionLimits));
        }
        if (limits.minTransferRate() > 0) {
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "sftp-rate-sweep");
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(this::sweepSlowTransfers, 1, 1, TimeUnit.SECONDS);
        }
        server = sshd;
        sshd.start();
        int port = sshd.getPort();
        for (SocketAddress a : sshd.getBoundAddresses()) {
            if (a instanceof InetSocketAddress i) {
                port = i.getPort();
            }
        }
        fingerprint = KeyUtils.getFingerPrint(hostKey.getPublic());
        return new InetSocketAddress(config.host(), port);
    }

    /**
     * A client that holds a handle open and sends nothing (keep-alives keep the session from
     * its idle timeout) is below the minimum rate without a request to notice it: checked here.
     */
    private void sweepSlowTransfers() {
        transfers.removeIf(c -> !c.isOpen());
        for (HandleChannel c : transfers) {
            try {
                c.abortIfTooSlow();
            } catch (IOException | RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(SftpFrontEnd.class).warn("sftp: aborting a slow transfer failed: {}", e.toString());
            }
        }
    }

    /** The host key's fingerprint as {@code ssh-keygen -l} shows it; after {@link #start()}. */
    public String hostKeyFingerprint() {
        return fingerprint;
    }

    /**
     * OpenSSH's default algorithms of today, less SHA-1 (ssh-rsa signatures, hmac-sha1,
     * diffie-hellman-group1/14-sha1) and CBC ciphers, and less chacha20-poly1305: the SSH
     * library computes it in plain Java, at a third of AES's speed (which runs on the CPU's
     * AES instructions), so OpenSSH's client, which prefers it, would pick the slow one.
     */
    private static void modernAlgorithms(SshServer sshd) {
        List<DHFactory> kex = new ArrayList<>();
        for (BuiltinDHFactories f : List.of(BuiltinDHFactories.mlkem768x25519, BuiltinDHFactories.sntrup761x25519_openssh,
                BuiltinDHFactories.sntrup761x25519, BuiltinDHFactories.curve25519, BuiltinDHFactories.curve25519_libssh,
                BuiltinDHFactories.ecdhp256, BuiltinDHFactories.ecdhp384, BuiltinDHFactories.ecdhp521,
                BuiltinDHFactories.dhgex256, BuiltinDHFactories.dhg16_512, BuiltinDHFactories.dhg18_512,
                BuiltinDHFactories.dhg14_256)) {
            if (f.isSupported()) {
                kex.add(f);
            }
        }
        sshd.setKeyExchangeFactories(NamedFactory.setUpTransformedFactories(false, kex, ServerBuilder.DH2KEX));
        sshd.setCipherFactories(new ArrayList<>(NamedFactory.setUpBuiltinFactories(false, List.of(
                BuiltinCiphers.aes128gcm, BuiltinCiphers.aes256gcm, BuiltinCiphers.aes128ctr,
                BuiltinCiphers.aes192ctr, BuiltinCiphers.aes256ctr))));
        sshd.setMacFactories(new ArrayList<>(NamedFactory.setUpBuiltinFactories(false, List.of(
                BuiltinMacs.hmacsha256etm, BuiltinMacs.hmacsha512etm, BuiltinMacs.hmacsha256, BuiltinMacs.hmacsha512))));
        sshd.setSignatureFactories(new ArrayList<>(NamedFactory.setUpBuiltinFactories(false, List.of(
                BuiltinSignatures.ed25519, BuiltinSignatures.ed25519_cert, BuiltinSignatures.sk_ssh_ed25519,
                BuiltinSignatures.nistp256, BuiltinSignatures.nistp384, BuiltinSignatures.nistp521,
                BuiltinSignatures.nistp256_cert, BuiltinSignatures.nistp384_cert, BuiltinSignatures.nistp521_cert,
                BuiltinSignatures.sk_ecdsa_sha2_nistp256,
                BuiltinSignatures.rsaSHA512, BuiltinSignatures.rsaSHA256,
                BuiltinSignatures.rsaSHA512_cert, BuiltinSignatures.rsaSHA256_cert))));
    }

    private static InetAddress clientAddress(ServerSession session) {
        SocketAddress a = session.getClientAddress();
        return a instanceof InetSocketAddress i ? i.getAddress() : InetAddress.getLoopbackAddress();
    }

    /**
     * Checks the password with the shared ban. A refusal is answered after the guard's delay,
     * without holding one of SSHD's I/O threads meanwhile.
     */
    private boolean password(String name, String password, ServerSession session) {
        Optional<UserConfig> user = accounts.authenticate(name, password, clientAddress(session));
        if (user.isPresent()) {
            session.setAttribute(USER, user.get());
            return sessionLimits.admit(session, name);
        }
        long delayMillis = accounts.guard().failureDelay().toMillis();
        if (delayMillis <= 0 || delays == null) {
            return false;
        }
        AsyncAuthException later = new AsyncAuthException();
        delays.schedule(() -> later.setAuthed(false), delayMillis, TimeUnit.MILLISECONDS);
        throw later;
    }

    /**
     * A key of the user's authorized-keys. SSHD asks before and after the client proves it
     * holds the key; the session gets its user only with that proof. A key that does not
     * match is not a failed login for the ban: clients offer each of their keys in turn.
     */
    private boolean publicKey(String name, PublicKey key, ServerSession session) {
        InetAddress client = clientAddress(session);
        if (!accounts.guard().banRemaining(client).isZero()) {
            return false;
        }
        Optional<UserConfig> user = accounts.user(name);
        if (user.isEmpty() || keys.getOrDefault(name, List.of()).stream().noneMatch(k -> KeyUtils.compareKeys(k, key))) {
            return false;
        }
        session.setAttribute(USER, user.get());
        // Asked before the proof too: the place is taken once and held until the session ends.
        return sessionLimits.admit(session, name);
    }

    /** SSH sessions open now. */
    public int openConnections() {
        SshServer s = server;
        return s == null ? 0 : s.getActiveSessions().size();
    }

    /** Stops accepting connections; sessions already open go on. */
    public void stopAccepting() {
        if (server instanceof AcceptorAccess a) {
            a.unbind();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (server != null && server.isStarted()) {
                server.stop(true);
            }
        } finally {
            if (delays != null) {
                delays.shutdownNow();
            }
            if (sweeper != null) {
                sweeper.shutdownNow();
            }
        }
    }

    /** SSHD's server with a way to stop listening while its sessions go on. */
    private static final class AcceptorAccess extends SshServer {
        void unbind() {
            if (acceptor != null) {
                acceptor.unbind();
            }
        }
    }

}
