package org.transfergateway.protocols.ftp;

import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.util.Arrays;
import org.apache.ftpserver.ftplet.FtpSession;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.apache.mina.core.buffer.IoBuffer;
import org.apache.mina.core.filterchain.IoFilterAdapter;
import org.apache.mina.core.session.IdleStatus;
import org.apache.mina.core.session.IoSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.protocols.ftp.command.ProxiedSession;
import org.transfergateway.protocols.proxy.ProxyHeader;

/**
 * With {@code listeners.proxy-protocol}: the first filter of each FTP control connection,
 * before TLS and the FTP codec. It reads the PROXY header the balancer sends first and
 * keeps the client it names on the session; until the header is whole, the rest of the
 * chain does not learn of the connection at all (no greeting, no count in the limits). A
 * connection whose header is malformed, or that stays silent for the idle timeout, is
 * closed unseen. Data connections carry no header: a passive one may come from the
 * control connection's own peer (the balancer, mapping the passive ports in plain TCP
 * mode) or from the client the header named (straight to this node), see
 * {@link org.transfergateway.protocols.ftp.command.ChannelDataConnections}.
 */
final class ProxyHeaderFilter extends IoFilterAdapter {
    private static final Logger log = LoggerFactory.getLogger(ProxyHeaderFilter.class);
    /** The client the header named: an {@link InetSocketAddress}; absent when the peer stands (LOCAL). */
    private static final String CLIENT = "gateway.proxy-client";
    /** The bytes received before the header was whole: a {@code byte[]}; absent once it is. */
    private static final String PENDING = "gateway.proxy-pending";

    /** The client of a control connection: the one its PROXY header named, else its peer. */
    static InetSocketAddress client(FtpSession session) {
        return session.getAttribute(CLIENT) instanceof InetSocketAddress claimed ? claimed : session.getClientAddress();
    }

    /** The client a PROXY header named for this control connection; null when its peer stands. */
    static InetSocketAddress claimed(IoSession session) {
        return session.getAttribute(CLIENT) instanceof InetSocketAddress claimed ? claimed : null;
    }

    /**
     * The session a command runs with: one whose remote address is the client the header
     * named, so MINA's own commands (PASS's login check, PORT's address check, the login
     * statistics) see the real client.
     */
    static FtpIoSession asClient(FtpIoSession session, FtpServerContext context) {
        InetSocketAddress claimed = claimed(session);
        return claimed == null ? session : new ProxiedSession(session, context, () -> claimed);
    }

    @Override
    public void sessionCreated(NextFilter next, IoSession session) {
        session.setAttribute(PENDING, new byte[0]);
    }

    @Override
    public void sessionOpened(NextFilter next, IoSession session) {
        if (session.getAttribute(PENDING) == null) {
            next.sessionOpened(session);
        }
    }

    @Override
    public void messageReceived(NextFilter next, IoSession session, Object message) {
        byte[] pending = (byte[]) session.getAttribute(PENDING);
        if (pending == null || !(message instanceof IoBuffer in)) {
            next.messageReceived(session, message);
            return;
        }
        byte[] received = Arrays.copyOf(pending, pending.length + in.remaining());
        in.get(received, pending.length, in.remaining());
        ProxyHeader.Parsed header;
        try {
            header = ProxyHeader.parse(Unpooled.wrappedBuffer(received));
        } catch (ProxyHeader.InvalidException e) {
            log.debug("closing FTP connection from {}: {}", session.getRemoteAddress(), e.getMessage());
            session.closeNow();
            return;
        }
        if (header == null) {
            session.setAttribute(PENDING, received);
            return;
        }
        session.removeAttribute(PENDING);
        if (header.client() != null) {
            session.setAttribute(CLIENT, header.client());
        }
        // Now the FTP server learns of the connection, as if it had just been accepted.
        next.sessionCreated(session);
        next.sessionOpened(session);
        if (header.length() < received.length) {
            next.messageReceived(session, IoBuffer.wrap(received, header.length(), received.length - header.length()));
        }
    }

    @Override
    public void sessionIdle(NextFilter next, IoSession session, IdleStatus status) {
        if (session.getAttribute(PENDING) != null) {
            log.debug("closing FTP connection from {}: no PROXY header", session.getRemoteAddress());
            session.closeNow();
            return;
        }
        next.sessionIdle(session, status);
    }

    @Override
    public void exceptionCaught(NextFilter next, IoSession session, Throwable cause) {
        if (session.getAttribute(PENDING) != null) {
            session.closeNow();
            return;
        }
        next.exceptionCaught(session, cause);
    }

    @Override
    public void sessionClosed(NextFilter next, IoSession session) {
        // The rest of the chain never saw a connection that closed before its header.
        if (session.removeAttribute(PENDING) == null) {
            next.sessionClosed(session);
        }
    }
}
