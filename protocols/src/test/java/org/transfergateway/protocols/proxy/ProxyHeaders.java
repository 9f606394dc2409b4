package org.transfergateway.protocols.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * PROXY headers as a load balancer writes them, and a loopback relay that prepends one to
 * each connection it forwards, for tests that drive a listener with real clients.
 */
public final class ProxyHeaders {
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyHeaders() {
    }

    public static byte[] v1(String source, int sourcePort, String destination, int destinationPort) {
        String family = source.contains(":") ? "TCP6" : "TCP4";
        return ("PROXY " + family + " " + source + " " + destination + " " + sourcePort + " " + destinationPort + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** A v2 PROXY command for TCP over IPv4 or IPv6. */
    public static byte[] v2(String source, int sourcePort, String destination, int destinationPort) {
        try {
            byte[] src = InetAddress.getByName(source).getAddress();
            byte[] dst = InetAddress.getByName(destination).getAddress();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(V2_SIGNATURE);
            out.write(0x21); // version 2, PROXY
            out.write(src.length == 4 ? 0x11 : 0x21); // TCP over IPv4 / IPv6
            int length = 2 * src.length + 4;
            out.write(length >> 8);
            out.write(length & 0xFF);
            out.writeBytes(src);
            out.writeBytes(dst);
            out.write(sourcePort >> 8);
            out.write(sourcePort & 0xFF);
            out.write(destinationPort >> 8);
            out.write(destinationPort & 0xFF);
            return out.toByteArray();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** A v2 LOCAL command, as a balancer's health check sends it. */
    public static byte[] v2Local() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(V2_SIGNATURE);
        out.write(0x20); // version 2, LOCAL
        out.write(0x00); // UNSPEC
        out.write(0);
        out.write(0);
        return out.toByteArray();
    }

    /**
     * Forwards each connection it accepts on loopback to {@code target}, first writing the
     * header {@code header} gives for it: a stand-in for a balancer in front of one node.
     */
    public static final class Relay implements AutoCloseable {
        private final ServerSocket server;
        private final InetSocketAddress target;
        private final Supplier<byte[]> header;
        private final List<Socket> sockets = new ArrayList<>();

        public Relay(InetSocketAddress target, Supplier<byte[]> header) throws IOException {
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.target = target;
            this.header = header;
            Thread t = new Thread(this::accept, "proxy-relay");
            t.setDaemon(true);
            t.start();
        }

        public int port() {
            return server.getLocalPort();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    Socket upstream = new Socket(target.getAddress(), target.getPort());
                    synchronized (sockets) {
                        sockets.add(client);
                        sockets.add(upstream);
                    }
                    upstream.getOutputStream().write(header.get());
                    pump(client, upstream);
                    pump(upstream, client);
                } catch (IOException e) {
                    // closed, or the target refused: the client sees its connection end
                }
            }
        }

        private static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[64 * 1024];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                    to.shutdownOutput();
                } catch (IOException e) {
                    // one side closed
                } finally {
                    try {
                        to.close();
                        from.close();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            }, "proxy-relay-pump");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (sockets) {
                for (Socket s : sockets) {
                    s.close();
                }
            }
        }
    }
}
