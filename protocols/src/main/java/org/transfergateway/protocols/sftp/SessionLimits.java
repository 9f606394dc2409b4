package org.transfergateway.protocols.sftp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.auth.UserSessions;

/**
 * limits.max-connections and limits.max-connections-per-address for SFTP: SSH sessions are
 * counted as FTP counts control connections, and one over either limit is closed as it is
 * accepted, before the SSH greeting, as OpenSSH's MaxStartups does. A refused session takes
 * no place, so the next one does not meet it while it closes. With
 * {@code listeners.proxy-protocol} a session is counted once its PROXY header has named
 * the client ({@link ProxyHeaderAcceptor}), under that client's address. A session that
 * logs in as a user who has limits.max-connections-per-user sessions open already (on any
 * node) is disconnected with SSH's "too many connections" reason instead of logged in
 * ({@link #admit}).
 */
final class SessionLimits implements SessionListener {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class);
    private static final AttributeRepository.AttributeKey<InetAddress> COUNTED = new AttributeRepository.AttributeKey<>();

    private final AtomicInteger total = new AtomicInteger();
    private final int maxTotal;
    private final int maxPerAddress;
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private static final AttributeRepository.AttributeKey<UserSessions.Session> USER_SESSION = new AttributeRepository.AttributeKey<>();
    private final UserSessions sessions;

    private final boolean afterProxyHeader;

    /** @param afterProxyHeader true: sessions are counted by {@link #countIn}, once their PROXY header is read */
    SessionLimits(LimitsConfig limits, UserSessions sessions, boolean afterProxyHeader) {
        this.maxTotal = limits.maxConnections();
        this.maxPerAddress = limits.maxConnectionsPerAddress();
        this.sessions = sessions;
        this.afterProxyHeader = afterProxyHeader;
    }

    /**
     * Takes a place for {@code user}'s login on {@code session}, once per session; at the
     * limit, disconnects it ("too many connections") and returns false. Called by the
     * authenticators once the credentials are right, before SSHD answers the login, so the
     * client reads the reason instead of a success followed by a cut.
     */
    boolean admit(Session session, String user) {
        if (sessions.limit() <= 0 || session.getAttribute(USER_SESSION) != null) {
            return true;
        }
        UserSessions.Session s = sessions.open(user, "sftp");
        if (s == null) {
            log.info("sftp: refused a login of {}: it has {} sessions open already", user, sessions.limit());
            try {
                session.disconnect(SshConstants.SSH2_DISCONNECT_TOO_MANY_CONNECTIONS,
                        "too many sessions of " + user + " (limits.max-connections-per-user)");
            } catch (java.io.IOException e) {
                session.close(true);
            }
            return false;
        }
        session.setAttribute(USER_SESSION, s);
        return true;
    }

    @Override
    public void sessionCreated(Session session) {
        if (!afterProxyHeader) {
            countIn(session);
        }
    }

    /** Counts the session in under its client's address, or closes it when over a limit. */
    void countIn(Session session) {
        InetAddress address = address(session instanceof org.apache.sshd.server.session.ServerSession s
                ? s.getClientAddress() : session.getRemoteAddress());
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            refuse(session, address, "the gateway has the most SFTP sessions it accepts (" + maxTotal + ")");
            return;
        }
        if (perAddress.merge(address, 1, Integer::sum) > maxPerAddress) {
            release(address);
            refuse(session, address, "this address has the most SFTP sessions it may open (" + maxPerAddress + ")");
            return;
        }
        session.setAttribute(COUNTED, address);
    }

    @Override
    public void sessionClosed(Session session) {
        InetAddress address = session.removeAttribute(COUNTED);
        if (address != null) {
            release(address);
        }
        UserSessions.Session s = session.removeAttribute(USER_SESSION);
        if (s != null) {
            s.close();
        }
    }

    private void refuse(Session session, InetAddress address, String why) {
        log.info("sftp: refused a connection from {}: {}", address.getHostAddress(), why);
        session.close(true);
    }

    private void release(InetAddress address) {
        perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
        total.decrementAndGet();
    }

    private static InetAddress address(SocketAddress a) {
        return a instanceof InetSocketAddress i ? i.getAddress() : InetAddress.getLoopbackAddress();
    }
}
