package org.transfergateway.protocols.ftp;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.util.Set;

/**
 * The TCP socket under an FTPS data connection's TLS, which holds back what TLS 1.3 sends
 * after its handshake (the server's NewSessionTicket) until the server next writes: data
 * of a download or listing, or the closing alert. A client that only sends (an upload)
 * never reads the data connection, and lftp closes it with that ticket unread; the kernel
 * then answers with a reset instead of a normal close, which throws away the upload bytes
 * the gateway has not read yet (the upload fails with 426). OpenSSL servers show the same
 * with TLS 1.3 uploads; vsftpd and ProFTPD send no tickets on data connections.
 *
 * <p>While the handshake runs, writes are kept until the next read (the client needs them
 * before it answers); what is left when the handshake ends is sent at once for TLS 1.2,
 * whose handshake ends with the server's messages, and kept for TLS 1.3.
 */
final class HeldBackSocket extends Socket {
    private final Socket tcp;
    private final ByteArrayOutputStream held = new ByteArrayOutputStream();
    private boolean handshaking;
    private OutputStream out;
    private InputStream in;

    HeldBackSocket(Socket tcp) {
        this.tcp = tcp;
    }

    /** From now until {@link #handshakeDone}, writes wait for the next read. */
    synchronized void handshakeStarts() {
        handshaking = true;
    }

    /** The handshake is over; {@code keep}: what it wrote last waits for the next write. */
    synchronized void handshakeDone(boolean keep) throws IOException {
        handshaking = false;
        if (!keep) {
            release();
        }
    }

    private synchronized void release() throws IOException {
        if (held.size() > 0) {
            OutputStream o = tcp.getOutputStream();
            held.writeTo(o);
            held.reset();
            o.flush();
        }
    }

    private synchronized void write(byte[] b, int off, int len) throws IOException {
        if (handshaking) {
            held.write(b, off, len);
        } else {
            release();
            tcp.getOutputStream().write(b, off, len);
        }
    }

    private synchronized void flushOut() throws IOException {
        if (!handshaking) {
            release();
            tcp.getOutputStream().flush();
        }
    }

    private synchronized void beforeRead() throws IOException {
        if (handshaking) {
            release();
        }
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            OutputStream o = tcp.getOutputStream();
            out = new FilterOutputStream(o) {
                @Override
                public void write(int b) throws IOException {
                    HeldBackSocket.this.write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    HeldBackSocket.this.write(b, off, len);
                }

                @Override
                public void flush() throws IOException {
                    flushOut();
                }

                @Override
                public void close() throws IOException {
                    HeldBackSocket.this.close();
                }
            };
        }
        return out;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new FilterInputStream(tcp.getInputStream()) {
                @Override
                public int read() throws IOException {
                    beforeRead();
                    return super.read();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    beforeRead();
                    return super.read(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    HeldBackSocket.this.close();
                }
            };
        }
        return in;
    }

    /** None: bytes written to the channel would pass what is held. */
    @Override
    public SocketChannel getChannel() {
        return null;
    }

    // What follows only delegates.

    @Override
    public void connect(SocketAddress endpoint) throws IOException {
        tcp.connect(endpoint);
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        tcp.connect(endpoint, timeout);
    }

    @Override
    public void bind(SocketAddress bindpoint) throws IOException {
        tcp.bind(bindpoint);
    }

    @Override
    public InetAddress getInetAddress() {
        return tcp.getInetAddress();
    }

    @Override
    public InetAddress getLocalAddress() {
        return tcp.getLocalAddress();
    }

    @Override
    public int getPort() {
        return tcp.getPort();
    }

    @Override
    public int getLocalPort() {
        return tcp.getLocalPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return tcp.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return tcp.getLocalSocketAddress();
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        tcp.setTcpNoDelay(on);
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        return tcp.getTcpNoDelay();
    }

    @Override
    public void setSoLinger(boolean on, int linger) throws SocketException {
        tcp.setSoLinger(on, linger);
    }

    @Override
    public int getSoLinger() throws SocketException {
        return tcp.getSoLinger();
    }

    @Override
    public void sendUrgentData(int data) throws IOException {
        tcp.sendUrgentData(data);
    }

    @Override
    public void setOOBInline(boolean on) throws SocketException {
        tcp.setOOBInline(on);
    }

    @Override
    public boolean getOOBInline() throws SocketException {
        return tcp.getOOBInline();
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        tcp.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return tcp.getSoTimeout();
    }

    @Override
    public void setSendBufferSize(int size) throws SocketException {
        tcp.setSendBufferSize(size);
    }

    @Override
    public int getSendBufferSize() throws SocketException {
        return tcp.getSendBufferSize();
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        tcp.setReceiveBufferSize(size);
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        return tcp.getReceiveBufferSize();
    }

    @Override
    public void setKeepAlive(boolean on) throws SocketException {
        tcp.setKeepAlive(on);
    }

    @Override
    public boolean getKeepAlive() throws SocketException {
        return tcp.getKeepAlive();
    }

    @Override
    public void setTrafficClass(int tc) throws SocketException {
        tcp.setTrafficClass(tc);
    }

    @Override
    public int getTrafficClass() throws SocketException {
        return tcp.getTrafficClass();
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        tcp.setReuseAddress(on);
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        return tcp.getReuseAddress();
    }

    @Override
    public void close() throws IOException {
        tcp.close();
    }

    @Override
    public void shutdownInput() throws IOException {
        tcp.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
        synchronized (this) {
            release();
        }
        tcp.shutdownOutput();
    }

    @Override
    public boolean isConnected() {
        return tcp.isConnected();
    }

    @Override
    public boolean isBound() {
        return tcp.isBound();
    }

    @Override
    public boolean isClosed() {
        return tcp.isClosed();
    }

    @Override
    public boolean isInputShutdown() {
        return tcp.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return tcp.isOutputShutdown();
    }

    @Override
    public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        tcp.setPerformancePreferences(connectionTime, latency, bandwidth);
    }

    @Override
    public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
        tcp.setOption(name, value);
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return tcp.getOption(name);
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return tcp.supportedOptions();
    }

    @Override
    public String toString() {
        return tcp.toString();
    }
}
