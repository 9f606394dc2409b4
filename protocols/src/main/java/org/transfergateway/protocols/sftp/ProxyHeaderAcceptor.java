package org.transfergateway.protocols.sftp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.SshException;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.session.AbstractServerSession;
import org.apache.sshd.server.session.ServerProxyAcceptor;
import org.apache.sshd.server.session.ServerSession;
import org.transfergateway.protocols.proxy.ProxyHeader;

/**
 * With {@code listeners.proxy-protocol}: reads the PROXY header before the client's SSH
 * identification, makes the client it names the session's client address (the one login
 * bans and logs use), and only then counts the session in the connection limits. A
 * session without a valid header fails and is closed.
 */
final class ProxyHeaderAcceptor implements ServerProxyAcceptor {
    private static final AttributeRepository.AttributeKey<Boolean> READ = new AttributeRepository.AttributeKey<>();
    private final SessionLimits limits;

    ProxyHeaderAcceptor(SessionLimits limits) {
        this.limits = limits;
    }

    /**
     * SSHD calls this again, with the header again, while the identification line after it
     * is incomplete: the header is skipped each time, the client taken and counted once.
     */
    @Override
    public boolean acceptServerProxyMetadata(ServerSession session, Buffer buffer) throws Exception {
        ByteBuf received = Unpooled.wrappedBuffer(buffer.array(), buffer.rpos(), buffer.available());
        ProxyHeader.Parsed header;
        try {
            header = ProxyHeader.parse(received);
        } catch (ProxyHeader.InvalidException e) {
            throw new SshException(e.getMessage());
        }
        if (header == null) {
            return false;
        }
        buffer.rpos(buffer.rpos() + header.length());
        if (session.setAttribute(READ, Boolean.TRUE) == null) {
            if (header.client() != null && session instanceof AbstractServerSession s) {
                s.setClientAddress(header.client());
            }
            limits.countIn(session);
        }
        return true;
    }
}
