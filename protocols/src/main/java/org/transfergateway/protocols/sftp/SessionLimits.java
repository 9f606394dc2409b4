package org.transfergateway.protocols.sftp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;

/**
 * limits.max-connections and limits.max-connections-per-address for SFTP: SSH sessions are
 * counted as FTP counts control connections, and one over either limit is closed as it is
 * accepted, before the SSH greeting, as OpenSSH's MaxStartups does. A refused session takes
 * no place, so the next one does not meet it while it closes. With
 * {@code listeners.proxy-protocol} a session is counted once its PROXY header has named
 * the client ({@link ProxyHeaderAcceptor}), under that client's address.
 */
final class SessionLimits implements SessionListener {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class);
    private static final AttributeRepository.AttributeKey<InetAddress> COUNTED = new AttributeRepository.AttributeKey<>();

    private final AtomicInteger total = new AtomicInteger();
    private final int maxTotal;
    private final int maxPerAddress;
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();

    private final boolean afterProxyHeader;

    /** @param afterProxyHeader true: sessions are counted by {@link #admit}, once their PROXY header is read */
    SessionLimits(LimitsConfig limits, boolean afterProxyHeader) {
        this.maxTotal = limits.maxConnections();
        this.maxPerAddress = limits.maxConnectionsPerAddress();
        this.afterProxyHeader = afterProxyHeader;
    }

    @Override
    public void sessionCreated(Session session) {
        if (!afterProxyHeader) {
            admit(session);
        }
    }

    /** Counts the session in under its client's address, or closes it when over a limit. */
    void admit(Session session) {
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
