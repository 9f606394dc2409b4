package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.apache.ftpserver.ftplet.DataConnection;
import org.apache.ftpserver.ftplet.DataType;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.IODataConnection;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.FileBacked;

/**
 * Moves the bytes of a binary FTP transfer in {@link #CHUNK} pieces. MINA's own loop
 * ({@code IODataConnection.transfer}) copies 4 KiB at a time through 8 KiB buffered
 * streams, a system call per 8 KiB, and that loop is what limits a transfer at loopback
 * speed. MINA keeps the data socket private, so it is taken from the connection by
 * reflection; where that is not possible (another MINA release), and for ASCII or
 * MODE Z transfers, which MINA's loop converts, {@link #of} answers null and MINA's
 * loop runs instead. Where the data socket has a channel ({@link ChannelDataConnections}),
 * uploads are read into direct buffers, which the file write takes without a copy, and
 * local files are sent with sendfile.
 */
final class DataSocket {
    /**
     * Bytes per read and write: 1 GiB uploads ran at 0.74-0.79x vsftpd's speed with 64 KiB
     * and 0.85x with 256 KiB. Each running transfer holds one such buffer on the heap.
     */
    static final int CHUNK = 256 * 1024;
    /** Buffers kept for the next transfers, so that many small files make no garbage. */
    private static final int SPARE = 32;
    private static final ConcurrentLinkedQueue<byte[]> spare = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger spareCount = new AtomicInteger();
    private static final ConcurrentLinkedQueue<ByteBuffer> spareDirect = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger spareDirectCount = new AtomicInteger();
    private static final Field SOCKET = socketField();

    private DataSocket() {
    }

    private static Field socketField() {
        try {
            Field f = IODataConnection.class.getDeclaredField("socket");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(DataSocket.class).info("FTP data goes through MINA's 4 KiB copy loop: {}", e.toString());
            return null;
        }
    }

    /** A buffer of {@link #CHUNK} bytes for one transfer; give it back when the transfer is over. */
    static byte[] borrow() {
        byte[] b = spare.poll();
        if (b == null) {
            return new byte[CHUNK];
        }
        spareCount.decrementAndGet();
        return b;
    }

    static void giveBack(byte[] buffer) {
        if (spareCount.incrementAndGet() <= SPARE) {
            spare.add(buffer);
        } else {
            spareCount.decrementAndGet();
        }
    }

    /** The socket under {@code data} when this transfer may bypass MINA's loop, else null. */
    static Socket of(FtpIoSession session, DataConnection data) {
        if (SOCKET == null || !(data instanceof IODataConnection)
                || session.getDataType() != DataType.BINARY || session.getDataConnection().isZipMode()) {
            return null;
        }
        try {
            return (Socket) SOCKET.get(data);
        } catch (IllegalAccessException e) {
            return null;
        }
    }

    /** A direct buffer of {@link #CHUNK} bytes, for reads from a channel; give it back after the transfer. */
    static ByteBuffer borrowDirect() {
        ByteBuffer b = spareDirect.poll();
        if (b == null) {
            return ByteBuffer.allocateDirect(CHUNK);
        }
        spareDirectCount.decrementAndGet();
        return b.clear();
    }

    static void giveBackDirect(ByteBuffer buffer) {
        if (spareDirectCount.incrementAndGet() <= SPARE) {
            spareDirect.add(buffer);
        } else {
            spareDirectCount.decrementAndGet();
        }
    }

    /**
     * The channel of a data socket accepted by {@link ChannelDataConnections}, or null (a
     * TLS socket, an active-mode socket). Once the channel is used (through a
     * {@link Waiter}) the socket's streams are not.
     */
    static SocketChannel channelOf(Socket socket) {
        // A TLS socket layered on an accepted one answers with the plain socket's channel,
        // which would bypass the encryption.
        return socket == null || socket instanceof SSLSocket ? null : socket.getChannel();
    }

    /**
     * Waits on a data socket's channel for reads or writes ({@link SelectionKey} ops) with
     * the socket's timeout, which a blocking channel would ignore: the channel is switched
     * to non-blocking mode for the rest of the transfer.
     */
    static final class Waiter implements AutoCloseable {
        private final Selector selector = Selector.open();
        private final Socket socket;
        private final SocketChannel channel;
        private final int timeoutMillis;
        private final String what;

        Waiter(Socket socket, SocketChannel channel, int ops) throws IOException {
            this(socket, channel, ops, socket.getSoTimeout());
        }

        Waiter(Socket socket, SocketChannel channel, int ops, int timeoutMillis) throws IOException {
            this.socket = socket;
            this.channel = channel;
            this.timeoutMillis = timeoutMillis;
            this.what = ops == SelectionKey.OP_READ ? "sent" : "took";
            try {
                channel.configureBlocking(false);
                channel.register(selector, ops);
                WAITING.put(socket, selector);
            } catch (IOException | RuntimeException e) {
                selector.close();
                throw e;
            }
        }

        /**
         * Until the channel is ready, at most {@code millis} (0: no limit); false when that
         * time passed first. A channel closed meanwhile ({@link #wake}) ends the wait with
         * an exception.
         */
        boolean await(long millis) throws IOException {
            int ready = selector.select(millis);
            selector.selectedKeys().clear();
            if (!channel.isOpen()) {
                throw new AsynchronousCloseException();
            }
            return ready > 0 || millis == 0;
        }

        /** Until the channel is ready, at most the socket's timeout (0: no limit). */
        void await() throws IOException {
            if (!await(timeoutMillis) && timeoutMillis > 0) {
                throw new SocketTimeoutException("the data connection " + what + " nothing for " + timeoutMillis + " ms");
            }
        }

        @Override
        public void close() throws IOException {
            WAITING.remove(socket, selector);
            selector.close();
        }
    }

    /** The selector each transfer waits on, by data socket, for {@link #wake}. */
    private static final Map<Socket, Selector> WAITING = new ConcurrentHashMap<>();

    /**
     * Wakes the transfer waiting on {@code socket}, after its channel was closed from another
     * thread (ABOR). The close alone cancels the channel's key without waking the selector:
     * a transfer that selects just after it waits on no key at all, for its whole timeout.
     * A wake-up before the select makes that select return at once.
     */
    static void wake(Socket socket) {
        Selector s = socket == null ? null : WAITING.get(socket);
        if (s != null) {
            s.wakeup();
        }
    }

    /**
     * Sends a local file region to the end with sendfile, counting each piece as it
     * leaves (through {@code sent}); the bytes sent.
     */
    static long sendFile(FtpIoSession session, Socket socket, SocketChannel channel, FileBacked file, Progress sent)
            throws IOException {
        try (Waiter waiter = new Waiter(socket, channel, SelectionKey.OP_WRITE)) {
            FileChannel source = file.channel();
            long start = file.position();
            long length = file.remaining();
            long done = 0;
            while (done < length) {
                long n = source.transferTo(start + done, Math.min(length - done, 4L * CHUNK), channel);
                if (n > 0) {
                    done += n;
                    sent.sent(n);
                    session.increaseWrittenDataBytes((int) n);
                    session.updateLastAccessTime(); // keeps the control connection from idling out
                } else if (source.size() <= start + done) {
                    throw new IOException("the file became shorter while it was sent");
                } else {
                    waiter.await();
                }
            }
            return done;
        }
    }

    /** Told of each piece that {@link #sendFile} sent; may refuse to go on. */
    interface Progress {
        void sent(long n) throws IOException;
    }

    /**
     * After the last byte was handed to the network: half-closes the data connection, so
     * that the client reads its end, and waits at most {@code waitMillis} for the client to
     * close its side. False when the client reset the connection instead (a TCP stack does
     * that when it closes a socket with bytes it has not read: the client gave up before
     * the end) or when it was closed under the transfer (ABOR); true when the client closed
     * cleanly, or kept the connection open and said nothing until the wait was over. A TLS
     * connection cannot be half-closed, so it is taken as delivered.
     */
    static boolean deliveredToEnd(Socket socket, long waitMillis) {
        if (socket instanceof SSLSocket) {
            return true;
        }
        try {
            SocketChannel channel = socket.getChannel();
            if (channel == null) {
                socket.shutdownOutput();
                socket.setSoTimeout((int) Math.max(1, waitMillis));
                byte[] sink = new byte[512];
                try {
                    while (socket.getInputStream().read(sink) >= 0) {
                        // a client sends nothing on a download's data connection; skip it
                    }
                } catch (SocketTimeoutException e) {
                    return true;
                }
                return true;
            }
            channel.shutdownOutput();
            long deadline = System.currentTimeMillis() + waitMillis;
            ByteBuffer sink = ByteBuffer.allocate(512);
            try (Waiter waiter = new Waiter(socket, channel, SelectionKey.OP_READ, 0)) {
                while (true) {
                    int n = channel.read(sink.clear());
                    if (n < 0) {
                        return true;
                    }
                    long left = deadline - System.currentTimeMillis();
                    if (n == 0 && left <= 0) {
                        return true;
                    }
                    if (n == 0) {
                        waiter.await(left);
                    }
                }
            }
        } catch (IOException e) {
            return false;
        }
    }

    /** Sends {@code source} to the end; the bytes sent. */
    static long send(FtpIoSession session, Socket socket, InputStream source) throws IOException {
        OutputStream out = socket.getOutputStream();
        byte[] buf = borrow();
        try {
            long total = 0;
            while (true) {
                int n = 0;
                try {
                    for (int r; n < CHUNK && (r = source.read(buf, n, CHUNK - n)) >= 0; ) {
                        n += r;
                    }
                } catch (IOException e) {
                    // The bytes read before the failure are counted as sent: send them, so
                    // that the client has every byte counted (and then a cut connection).
                    if (n > 0) {
                        out.write(buf, 0, n);
                        out.flush();
                        total += n;
                        session.increaseWrittenDataBytes(n);
                    }
                    throw e;
                }
                if (n > 0) {
                    out.write(buf, 0, n);
                    total += n;
                    session.increaseWrittenDataBytes(n);
                    session.updateLastAccessTime(); // keeps the control connection from idling out
                }
                if (n < CHUNK) {
                    out.flush();
                    return total;
                }
            }
        } finally {
            giveBack(buf);
        }
    }
}
