package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.LockSupport;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.mina.core.session.IoSession;
import org.apache.mina.transport.socket.nio.NioSession;
import org.slf4j.LoggerFactory;

/**
 * Tells whether the client is still there when a stream-mode upload's data connection
 * has ended: that end looks the same whether the client finished or died, and only the
 * control connection tells them apart.
 *
 * <p>MINA notices a closed control connection on its I/O thread, which may not have read
 * the client's FIN yet when the transfer thread sees the data connection's end: a process
 * that exits closes both at the same moment. So the control socket is also asked directly
 * (a second selector on its channel, which reads nothing): while it has input pending
 * that MINA has not taken, the answer waits for MINA to take it. Input that is a command
 * goes and the client is there; an end of stream, or a reset, stays readable until MINA
 * closes the session or its channel (a reset reaches MINA's handler only after the running
 * command, but MINA closes the channel at once).
 *
 * <p>A process that dies closes its data connection first as often as not (Linux releases
 * an exiting process's sockets last-opened first), and its control connection some
 * microseconds, under load a few milliseconds, later. The caller may therefore wait a
 * grace period for that end; a live client, which waits for the reply, sends nothing.
 */
final class ControlConnection {
    /** How long MINA may take to handle input that is already waiting on the control socket. */
    private static final long PATIENCE_MILLIS = 2_000;
    private static final Field WRAPPED = field(FtpIoSession.class, "wrappedSession");
    private static final Field CHANNEL = field(NioSession.class, "channel");

    private ControlConnection() {
    }

    private static Field field(Class<?> type, String name) {
        try {
            Field f = type.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(ControlConnection.class)
                    .warn("FTP cannot look at control sockets directly; a closed one is seen only once MINA reads it: {}", e.toString());
            return null;
        }
    }

    /**
     * False when the control connection is closed or closing, or its client has sent its
     * end, now or within {@code graceMillis}: a dying process closes its data connection
     * a few microseconds to milliseconds before its control connection.
     */
    static boolean stillOpen(FtpIoSession session, long graceMillis) {
        if (closing(session)) {
            return false;
        }
        SocketChannel channel = channelOf(session);
        if (channel == null) {
            return true;
        }
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            long now = System.nanoTime();
            long graceEnd = now + graceMillis * 1_000_000;
            long patienceEnd = now + PATIENCE_MILLIS * 1_000_000;
            while (true) {
                long waitMillis = (graceEnd - System.nanoTime()) / 1_000_000;
                int ready = waitMillis > 0 ? selector.select(waitMillis) : selector.selectNow();
                selector.selectedKeys().clear();
                // Read after the select: a channel MINA closes meanwhile drops out of it.
                if (closing(session) || !channel.isOpen()) {
                    return false;
                }
                if (ready == 0) {
                    if (System.nanoTime() >= graceEnd) {
                        return true;
                    }
                    continue;
                }
                if (System.nanoTime() > patienceEnd) {
                    // Input MINA does not take, and no close: a client that floods commands.
                    return true;
                }
                // MINA's I/O thread takes pending input within microseconds: a short park,
                // not a millisecond's sleep, so that a live client's reply is not held up.
                LockSupport.parkNanos(20_000);
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    return !closing(session);
                }
            }
        } catch (java.nio.channels.ClosedChannelException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            LoggerFactory.getLogger(ControlConnection.class).debug("cannot look at the control socket: {}", e.toString());
            return !closing(session);
        }
    }

    private static boolean closing(FtpIoSession session) {
        return session.isClosing() || !session.isConnected();
    }

    private static SocketChannel channelOf(FtpIoSession session) {
        if (WRAPPED == null || CHANNEL == null) {
            return null;
        }
        try {
            IoSession io = (IoSession) WRAPPED.get(session);
            // A ProxiedSession wraps MINA's own FtpIoSession.
            while (io instanceof FtpIoSession wrapper) {
                io = (IoSession) WRAPPED.get(wrapper);
            }
            return io instanceof NioSession nio && CHANNEL.get(nio) instanceof SocketChannel c ? c : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
