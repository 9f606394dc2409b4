package org.transfergateway.storage.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay on the loopback address in front of a server (S3Proxy), counting the bytes
 * each way: a test points a backend at {@link #endpoint()} and sees how much passed
 * between the gateway and the service, e.g. that an append read nothing back. It can
 * also cut every connection once a number of bytes came back ({@link #cutAfter}), as a
 * service that fails in the middle of a response would. It also notes the
 * {@code x-amz-content-sha256} header of every request ({@link #payloadHashes()}), to show
 * how request bodies were signed.
 */
public final class CountingRelay implements AutoCloseable {
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final AtomicLong toServer = new AtomicLong();
    private final AtomicLong fromServer = new AtomicLong();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong cutAt = new AtomicLong(Long.MAX_VALUE);
    private final List<String> payloadHashes = new CopyOnWriteArrayList<>();

    /** Relays to {@code target} (an http:// URI of a loopback server) from a free port. */
    public CountingRelay(URI target) throws IOException {
        this.target = new InetSocketAddress(target.getHost(), target.getPort());
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accepter = new Thread(this::accept, "relay-accept-" + server.getLocalPort());
        accepter.setDaemon(true);
        accepter.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Bytes the clients sent to the server since the start or the last {@link #reset()}. */
    public long toServer() {
        return toServer.get();
    }

    /** Bytes the server sent back since the start or the last {@link #reset()}. */
    public long fromServer() {
        return fromServer.get();
    }

    public void reset() {
        toServer.set(0);
        fromServer.set(0);
        cutAt.set(Long.MAX_VALUE);
        payloadHashes.clear();
    }

    /**
     * The values of the {@code x-amz-content-sha256} header of the requests sent since the
     * start or the last {@link #reset()}, in the order they arrived on each connection: a
     * hex SHA-256, {@code UNSIGNED-PAYLOAD} or a {@code STREAMING-} mode.
     */
    public List<String> payloadHashes() {
        return List.copyOf(payloadHashes);
    }

    /**
     * Closes every open connection once the server has sent {@code bytes} more (counted
     * from now), passing on only the bytes up to that point; connections opened after the
     * cut are relayed again. {@link #reset()} cancels a cut not yet made.
     */
    public void cutAfter(long bytes) {
        cutAt.set(fromServer.get() + bytes);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(target.getAddress(), target.getPort());
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream, toServer, false);
                pump(upstream, client, fromServer, true);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicLong counter, boolean cuttable) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            HeaderLines lines = cuttable ? null : new HeaderLines();
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (lines != null) {
                        lines.scan(buf, n);
                    }
                    if (cuttable) {
                        long cut = cutAt.get();
                        long before = counter.get();
                        if (before + n >= cut) {
                            int pass = (int) Math.max(0, cut - before);
                            counter.addAndGet(pass);
                            out.write(buf, 0, pass);
                            out.flush();
                            cutAt.set(Long.MAX_VALUE);
                            sockets.forEach(CountingRelay::closeQuietly);
                            return;
                        }
                    }
                    counter.addAndGet(n); // before passing them on: whatever arrived is counted
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                // one side went away: the other closes with the try
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "relay-" + from.getPort());
        t.setDaemon(true);
        t.start();
    }

    /**
     * Finds {@code x-amz-content-sha256} lines in what a client sends. Bodies pass through
     * it too; a line of random bytes that starts with that header name does not occur.
     */
    private final class HeaderLines {
        private static final String NAME = "x-amz-content-sha256:";
        private final StringBuilder line = new StringBuilder();

        void scan(byte[] b, int n) {
            for (int i = 0; i < n; i++) {
                char c = (char) (b[i] & 0xff);
                if (c == '\n') {
                    String l = line.toString().trim();
                    if (l.regionMatches(true, 0, NAME, 0, NAME.length())) {
                        payloadHashes.add(l.substring(NAME.length()).trim());
                    }
                    line.setLength(0);
                } else if (line.length() < 256) {
                    line.append(c);
                }
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        sockets.forEach(CountingRelay::closeQuietly);
    }
}
