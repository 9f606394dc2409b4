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
 * service that fails in the middle of a response would.
 */
public final class CountingRelay implements AutoCloseable {
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final AtomicLong toServer = new AtomicLong();
    private final AtomicLong fromServer = new AtomicLong();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong cutAt = new AtomicLong(Long.MAX_VALUE);

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
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
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
