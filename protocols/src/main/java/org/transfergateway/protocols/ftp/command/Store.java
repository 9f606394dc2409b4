package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.io.OutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.UUID;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.DataConnection;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.ftp.RateCheck;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * STOR, APPE and STOU: stream the data connection into a counted upload and answer 226
 * only once the backend has confirmed the whole file. A cut-off connection answers 426,
 * a storage failure 451 (or the code of its cause), and either leaves nothing behind.
 * The upload commits only while the control connection is still open
 * ({@link ControlConnection}), and not with fewer bytes than an {@link Allo ALLO} announced.
 */
final class Store extends AbstractCommand {
    private static final Logger log = LoggerFactory.getLogger(Store.class);
    /** Bytes gathered before each storage write; MINA's own copy loop moves 4 KiB at a time. */
    private static final int CHUNK = DataSocket.CHUNK;
    /** The longest a partial chunk waits for more bytes before it is written (and counted). */
    private static final long LIVE_NANOS = 500_000_000L;
    /** The longest wait for a dying client's control connection to end ({@link #endGraceMillis}). */
    private static final long END_GRACE_MILLIS = 25;

    enum Mode { STOR, APPE, STOU }

    private final Mode mode;
    private final LimitsConfig limits;

    Store(Mode mode, LimitsConfig limits) {
        this.mode = mode;
        this.limits = limits;
    }

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        FtpCommands.withDataConnection(session, () -> run(session, request));
    }

    private void run(FtpIoSession session, FtpRequest request) throws IOException {
        String command = mode.name();
        String arg = request.getArgument();
        if (mode != Mode.STOU && (arg == null || arg.isEmpty())) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, command + " needs a file name");
            return;
        }
        if (!FtpCommands.dataConnectionPrepared(session)) {
            return;
        }
        SessionFiles sf = FtpCommands.sessionFiles(session);
        UserFiles files = sf.files();

        long announced = Allo.take(session);
        UserFiles.Inbound upload;
        String path;
        long keep;
        try {
            path = sf.resolve(mode == Mode.STOU ? "stou-" + UUID.randomUUID() : arg);
            keep = session.getFileOffset();
            if (mode == Mode.APPE) {
                ObjectInfo existing = files.stat(path);
                keep = existing == null || existing.folder() ? 0 : existing.size();
            }
            upload = files.upload(path, keep);
            if (announced >= keep) {
                upload.expect(announced - keep); // the live view's ETA
            }
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, command, arg, e);
            return;
        }

        try (upload) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            FtpCommands.reply(session, FtpReply.REPLY_150_FILE_STATUS_OKAY,
                    mode == Mode.STOU ? "FILE: " + name : "Opening data connection for " + name);
            DataConnection data;
            try {
                data = session.getDataConnection().openConnection();
            } catch (Exception e) {
                upload.abort();
                FtpCommands.reply(session, FtpReply.REPLY_425_CANT_OPEN_DATA_CONNECTION, "Cannot open the data connection: " + e.getMessage());
                return;
            }
            long dataStarted = System.nanoTime();
            Socket socket = DataSocket.of(session, data);
            SocketChannel channel = DataSocket.channelOf(socket);
            UploadStream sink = new UploadStream(upload, limits, channel != null);
            try {
                try {
                    if (channel != null) {
                        sink.receive(session, socket, channel);
                    } else if (socket != null) {
                        sink.receive(session, socket.getInputStream());
                    } else {
                        data.transferFromClient(session.getFtpletSession(), sink);
                    }
                    sink.flushToStorage();
                } catch (IOException e) {
                    // The data connection goes first, as MINA's loop does, so the client stops sending.
                    session.getDataConnection().closeDataConnection();
                    sink.countGathered();
                    // Counted (and cleaned up) before the reply, so that totals agree with what the client saw.
                    upload.abort();
                    if (sink.storageFailure != null) {
                        FtpCommands.replyError(session, command, path, sink.storageFailure);
                    } else if (sink.tooSlow) {
                        log.info("{} {}: dropped, slower than {} bytes/s", command, path, limits.minTransferRate());
                        FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED,
                                "Transfer slower than the minimum of " + limits.minTransferRate() + " bytes/s; aborted, nothing stored");
                    } else {
                        log.debug("{} {}: data connection cut off after {} bytes: {}", command, path, upload.written(), e.toString());
                        FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED,
                                "Connection closed; transfer aborted, nothing stored" + (e instanceof SocketException ? "" : ": " + e.getMessage()));
                    }
                    return;
                }
                // In stream mode a client that dies closes the data connection just as one that
                // finished does; only its control connection tells them apart.
                if (!ControlConnection.stillOpen(session, endGraceMillis(System.nanoTime() - dataStarted))) {
                    log.info("{} {}: the client left before the end of the upload was confirmed; nothing stored", command, path);
                    upload.abort();
                    return;
                }
                long received = upload.written();
                if (announced >= 0 && keep + received < announced) {
                    log.info("{} {}: {} of {} announced bytes arrived; nothing stored", command, path, keep + received, announced);
                    upload.abort();
                    FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED,
                            "Transfer incomplete: " + (keep + received) + " of " + announced + " bytes announced by ALLO; nothing stored");
                    return;
                }
                ObjectInfo stored;
                try {
                    stored = upload.commit();
                } catch (IOException | RuntimeException e) {
                    upload.abort();
                    FtpCommands.replyError(session, command, path, e);
                    return;
                }
                FtpCommands.reply(session, FtpReply.REPLY_226_CLOSING_DATA_CONNECTION, mode == Mode.APPE
                        ? "Transfer complete: " + received + " bytes appended to " + name
                        : "Transfer complete: " + stored.size() + " bytes stored as " + name);
            } finally {
                sink.release(); // after the last use of its buffer, also on the error paths
            }
        }
    }

    /**
     * How long to watch the control connection for a dying client's end after the data
     * connection ended: a tenth of the transfer's time, at most {@link #END_GRACE_MILLIS}.
     * A dying process's two connections end milliseconds apart, more on a busy machine; waiting costs
     * a live client the same time, which a long transfer hardly notices and a small file's
     * would double.
     */
    static long endGraceMillis(long transferNanos) {
        return Math.min(END_GRACE_MILLIS, transferNanos / 10 / 1_000_000);
    }

    /**
     * Hands the data connection's bytes to the upload in {@link #CHUNK} pieces and keeps
     * apart a storage failure from a network one: MINA reports both as IOException.
     * {@link #close()} does nothing: only the command decides between commit and abort.
     */
    private static final class UploadStream extends OutputStream {
        private final UserFiles.Inbound upload;
        /** Direct when read from a channel: the file write then takes it without a copy. */
        private final ByteBuffer buffer;
        private final RateCheck rate;
        GatewayException storageFailure;
        boolean tooSlow;
        private boolean released;
        /** When gathered bytes last went to storage, where they are counted. */
        private long lastFlush = System.nanoTime();

        UploadStream(UserFiles.Inbound upload, LimitsConfig limits, boolean direct) {
            this.upload = upload;
            this.rate = new RateCheck(limits);
            this.buffer = direct ? DataSocket.borrowDirect() : ByteBuffer.wrap(DataSocket.borrow());
        }

        private void checkRate(int n) throws IOException {
            if (rate.tooSlow(n)) {
                tooSlow = true;
                throw new IOException("slower than the minimum transfer rate");
            }
        }

        /**
         * Reads the data connection straight into the chunk being gathered (see
         * {@link DataSocket}); the last partial chunk stays for {@link #flushToStorage}.
         */
        void receive(FtpIoSession session, InputStream in) throws IOException {
            byte[] chunk = buffer.array();
            while (true) {
                if (!buffer.hasRemaining()) {
                    flushToStorage();
                }
                int n = in.read(chunk, buffer.position(), buffer.remaining());
                if (n < 0) {
                    return;
                }
                checkRate(n);
                buffer.position(buffer.position() + n);
                session.increaseReadDataBytes(n);
                session.updateLastAccessTime(); // keeps the control connection from idling out
            }
        }

        /** Like {@link #receive(FtpIoSession, InputStream)}, from the socket's channel. */
        void receive(FtpIoSession session, Socket socket, SocketChannel channel) throws IOException {
            try (DataSocket.Waiter waiter = new DataSocket.Waiter(socket, channel, SelectionKey.OP_READ)) {
                while (true) {
                    if (!buffer.hasRemaining()) {
                        flushToStorage();
                    }
                    int n = channel.read(buffer);
                    if (n < 0) {
                        return;
                    }
                    if (n == 0) {
                        // Bytes gathered wait at most half a second for more, then go to storage,
                        // where the live view counts them: a slow client's progress shows. A fast
                        // one fills its chunk first.
                        if (buffer.position() > 0) {
                            long left = LIVE_NANOS - (System.nanoTime() - lastFlush);
                            if (left <= 0 || !waiter.await(Math.max(1, left / 1_000_000))) {
                                flushToStorage();
                            }
                        } else {
                            waiter.await();
                        }
                        continue;
                    }
                    checkRate(n);
                    session.increaseReadDataBytes(n);
                    session.updateLastAccessTime();
                }
            }
        }

        @Override
        public void write(int b) throws IOException {
            checkRate(1);
            if (!buffer.hasRemaining()) {
                flushToStorage();
            }
            buffer.put((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            checkRate(len);
            while (len > 0) {
                if (!buffer.hasRemaining()) {
                    flushToStorage();
                }
                int n = Math.min(len, buffer.remaining());
                buffer.put(b, off, n);
                off += n;
                len -= n;
            }
        }

        void flushToStorage() throws IOException {
            if (storageFailure != null) {
                throw storageFailure;
            }
            lastFlush = System.nanoTime();
            buffer.flip();
            try {
                if (buffer.hasRemaining()) {
                    upload.write(buffer);
                }
            } catch (IOException | RuntimeException e) {
                storageFailure = GatewayException.wrap(e);
                throw storageFailure;
            } finally {
                buffer.clear();
            }
        }

        /**
         * Before an abort: hands on what was gathered but not yet written, so that the
         * failed transfer counts every byte the client sent. A failure here changes nothing.
         */
        void countGathered() {
            if (storageFailure == null && buffer.position() > 0) {
                try {
                    flushToStorage();
                } catch (IOException e) {
                    // the upload is being aborted anyway
                }
            }
        }

        /** The transfer is over: the buffer goes back for the next one. Storage keeps no reference to it. */
        void release() {
            if (!released) {
                released = true;
                if (buffer.isDirect()) {
                    DataSocket.giveBackDirect(buffer);
                } else {
                    DataSocket.giveBack(buffer.array());
                }
            }
        }

        @Override
        public void flush() {
            // MINA flushes its buffered stream after every transfer; storage writes happen in whole chunks.
        }
    }
}
