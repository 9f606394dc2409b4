package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.net.Socket;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.mina.core.buffer.IoBuffer;
import org.apache.mina.core.filterchain.IoFilterAdapter;
import org.apache.mina.core.session.IoSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices ABOR while a download runs. MINA runs a session's commands one after another
 * (an ordered executor), so the ABOR command itself runs only once RETR has returned: too
 * late to stop a transfer, and a client that sent ABOR and stopped reading would wait for
 * the data connection's idle timeout. This filter sits before MINA's executor and reads
 * each control line as it arrives, on the I/O thread: an ABOR line marks the running
 * download aborted and closes its data socket, so RETR ends at once with 426, and MINA's
 * ABOR then answers 226 (RFC 959, 4.1.3). The line is passed on unchanged.
 */
public final class AbortWatch extends IoFilterAdapter {
    private static final Logger log = LoggerFactory.getLogger(AbortWatch.class);
    /** The download running on a session, if any: a {@link Running}. */
    private static final String RUNNING = "gateway.running-download";
    /** The start of the control line being received, up to a few bytes: a {@link StringBuilder}. */
    private static final String LINE = "gateway.abort-watch.line";

    @Override
    public void messageReceived(NextFilter next, IoSession session, Object message) throws Exception {
        if (message instanceof IoBuffer buffer) {
            scan(session, buffer);
        }
        next.messageReceived(session, message);
    }

    private static void scan(IoSession session, IoBuffer buffer) {
        StringBuilder line = (StringBuilder) session.getAttribute(LINE);
        if (line == null) {
            line = new StringBuilder(8);
            session.setAttribute(LINE, line);
        }
        for (int i = buffer.position(); i < buffer.limit(); i++) {
            int b = buffer.get(i) & 0xFF;
            if (b == '\n') {
                if (line.toString().trim().equalsIgnoreCase("ABOR")) {
                    abortRunning(session);
                }
                line.setLength(0);
            } else if (b >= 0xF0) {
                // Telnet IAC IP IAC DM, which some clients send before ABOR (never UTF-8 text here).
                continue;
            } else if (line.length() < 8) {
                line.append((char) b);
            }
        }
    }

    private static void abortRunning(IoSession session) {
        if (session.getAttribute(RUNNING) instanceof Running running) {
            log.debug("ABOR received during a download: closing its data connection");
            running.abort();
        }
    }

    /** Registers a download whose data connection is open; {@link Running#close} when it is over. */
    static Running start(FtpIoSession session, Socket data) {
        Running running = new Running(session, data);
        session.setAttribute(RUNNING, running);
        return running;
    }

    /** A download that an ABOR can stop. */
    static final class Running implements AutoCloseable {
        private final FtpIoSession session;
        private final Socket data;
        private volatile boolean aborted;

        private Running(FtpIoSession session, Socket data) {
            this.session = session;
            this.data = data;
        }

        /** Whether an ABOR arrived while this download ran. */
        boolean aborted() {
            return aborted;
        }

        private void abort() {
            aborted = true;
            try {
                if (data != null) {
                    // A channel registered with a selector is really closed only when the
                    // selector lets go of it, and the close does not wake that selector:
                    // the transfer waiting on it (to write, or for the client's close) is
                    // woken here, and finds its channel closed.
                    data.close();
                    DataSocket.wake(data);
                } else {
                    session.getDataConnection().closeDataConnection();
                }
            } catch (IOException | RuntimeException e) {
                log.debug("closing the data connection after ABOR: {}", e.toString());
            }
        }

        @Override
        public void close() {
            session.removeAttribute(RUNNING, this);
        }
    }
}
