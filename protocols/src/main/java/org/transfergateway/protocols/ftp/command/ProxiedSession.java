package org.transfergateway.protocols.ftp.command;

import java.net.SocketAddress;
import java.util.function.Supplier;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/**
 * An FTP control session seen with another remote address: the client a PROXY header
 * named, for MINA's commands, or the peer a passive data connection may have. Everything
 * else goes to the session it wraps, MINA's byte counts included: they keep the control
 * connection from counting as idle while a transfer runs.
 */
public final class ProxiedSession extends FtpIoSession {
    private final FtpIoSession control;
    private final Supplier<SocketAddress> remote;

    public ProxiedSession(FtpIoSession control, FtpServerContext context, Supplier<SocketAddress> remote) {
        super(control, context);
        this.control = control;
        this.remote = remote;
    }

    @Override
    public SocketAddress getRemoteAddress() {
        return remote.get();
    }

    @Override
    public void increaseWrittenDataBytes(int increment) {
        control.increaseWrittenDataBytes(increment);
    }

    @Override
    public void increaseReadDataBytes(int increment) {
        control.increaseReadDataBytes(increment);
    }
}
