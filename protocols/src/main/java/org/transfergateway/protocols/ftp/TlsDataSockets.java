package org.transfergateway.protocols.ftp;

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
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import javax.net.ssl.HandshakeCompletedListener;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The TLS sockets of FTPS data connections (MINA makes them with this factory), closed the
 * way GnuTLS clients (lftp, FileZilla) accept. The JDK closes a TLS 1.3 socket with a
 * {@code user_canceled} alert before {@code close_notify}; TLS 1.3 makes every alert but
 * close_notify an error, so GnuTLS fails each listing and download that the server ends
 * ("A TLS fatal alert has been received"), while OpenSSL clients and TLS 1.2 are not
 * affected. These sockets half-close first, which sends close_notify alone; the full
 * close that follows sends nothing more. Under them, passive data connections hold back
 * the session ticket TLS 1.3 sends after the handshake ({@link HeldBackSocket}), which a
 * client that only uploads never reads.
 *
 * <p>Session resumption needs nothing here: the sockets come from the control
 * connection's SSLContext, whose session cache and ticket keys they share, so data
 * connections resume the control connection's session under TLS 1.2 and 1.3.
 */
final class TlsDataSockets extends SSLSocketFactory {
    private final SSLSocketFactory factory;

    TlsDataSockets(SSLSocketFactory factory) {
        this.factory = factory;
    }

    @Override
    public Socket createSocket() throws IOException {
        return new HalfClosing((SSLSocket) factory.createSocket());
    }

    /** The passive data connections: TLS over an accepted TCP socket. */
    @Override
    public Socket createSocket(Socket plain, String host, int port, boolean autoClose) throws IOException {
        HeldBackSocket tcp = new HeldBackSocket(plain);
        return new HalfClosing((SSLSocket) factory.createSocket(tcp, host, port, autoClose), tcp);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return new HalfClosing((SSLSocket) factory.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return new HalfClosing((SSLSocket) factory.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return new HalfClosing((SSLSocket) factory.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return new HalfClosing((SSLSocket) factory.createSocket(address, port, localAddress, localPort));
    }

    @Override
    public String[] getDefaultCipherSuites() {
        return factory.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return factory.getSupportedCipherSuites();
    }

    /**
     * A JDK TLS socket whose {@link #close} (and that of its streams, which the JDK would
     * turn into the socket's own close) shuts its output down first, and whose handshake
     * tells the TCP socket under it what to hold back ({@link HeldBackSocket}). Everything
     * else is the JDK socket's.
     */
    static final class HalfClosing extends SSLSocket {
        private final SSLSocket tls;
        private final HeldBackSocket tcp;

        HalfClosing(SSLSocket tls) {
            this(tls, null);
        }

        HalfClosing(SSLSocket tls, HeldBackSocket tcp) {
            this.tls = tls;
            this.tcp = tcp;
        }

        /** MINA starts the handshake itself, right after accepting the data connection. */
        @Override
        public void startHandshake() throws IOException {
            if (tcp == null) {
                tls.startHandshake();
                return;
            }
            tcp.handshakeStarts();
            boolean tls13 = false;
            try {
                tls.startHandshake();
                tls13 = "TLSv1.3".equals(tls.getSession().getProtocol());
            } finally {
                tcp.handshakeDone(tls13);
            }
        }

        @Override
        public void close() throws IOException {
            if (tls.isConnected() && !tls.isClosed() && !tls.isOutputShutdown()) {
                try {
                    tls.shutdownOutput();
                } catch (IOException e) {
                    // The peer is gone: the close below still releases the socket.
                }
            }
            tls.close();
        }

        @Override
        public InputStream getInputStream() throws IOException {
            return new FilterInputStream(tls.getInputStream()) {
                @Override
                public void close() throws IOException {
                    HalfClosing.this.close();
                }
            };
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            return new FilterOutputStream(tls.getOutputStream()) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len); // FilterOutputStream would write byte by byte
                }

                @Override
                public void close() throws IOException {
                    HalfClosing.this.close();
                }
            };
        }

        /** None: the bytes must go through TLS, never straight to the TCP channel under it. */
        @Override
        public SocketChannel getChannel() {
            return null;
        }

        // What follows only delegates.

        @Override
        public void connect(SocketAddress endpoint) throws IOException {
            tls.connect(endpoint);
        }

        @Override
        public void connect(SocketAddress endpoint, int timeout) throws IOException {
            tls.connect(endpoint, timeout);
        }

        @Override
        public void bind(SocketAddress bindpoint) throws IOException {
            tls.bind(bindpoint);
        }

        @Override
        public InetAddress getInetAddress() {
            return tls.getInetAddress();
        }

        @Override
        public InetAddress getLocalAddress() {
            return tls.getLocalAddress();
        }

        @Override
        public int getPort() {
            return tls.getPort();
        }

        @Override
        public int getLocalPort() {
            return tls.getLocalPort();
        }

        @Override
        public SocketAddress getRemoteSocketAddress() {
            return tls.getRemoteSocketAddress();
        }

        @Override
        public SocketAddress getLocalSocketAddress() {
            return tls.getLocalSocketAddress();
        }

        @Override
        public void setTcpNoDelay(boolean on) throws SocketException {
            tls.setTcpNoDelay(on);
        }

        @Override
        public boolean getTcpNoDelay() throws SocketException {
            return tls.getTcpNoDelay();
        }

        @Override
        public void setSoLinger(boolean on, int linger) throws SocketException {
            tls.setSoLinger(on, linger);
        }

        @Override
        public int getSoLinger() throws SocketException {
            return tls.getSoLinger();
        }

        @Override
        public void sendUrgentData(int data) throws IOException {
            tls.sendUrgentData(data);
        }

        @Override
        public void setOOBInline(boolean on) throws SocketException {
            tls.setOOBInline(on);
        }

        @Override
        public boolean getOOBInline() throws SocketException {
            return tls.getOOBInline();
        }

        @Override
        public void setSoTimeout(int timeout) throws SocketException {
            tls.setSoTimeout(timeout);
        }

        @Override
        public int getSoTimeout() throws SocketException {
            return tls.getSoTimeout();
        }

        @Override
        public void setSendBufferSize(int size) throws SocketException {
            tls.setSendBufferSize(size);
        }

        @Override
        public int getSendBufferSize() throws SocketException {
            return tls.getSendBufferSize();
        }

        @Override
        public void setReceiveBufferSize(int size) throws SocketException {
            tls.setReceiveBufferSize(size);
        }

        @Override
        public int getReceiveBufferSize() throws SocketException {
            return tls.getReceiveBufferSize();
        }

        @Override
        public void setKeepAlive(boolean on) throws SocketException {
            tls.setKeepAlive(on);
        }

        @Override
        public boolean getKeepAlive() throws SocketException {
            return tls.getKeepAlive();
        }

        @Override
        public void setTrafficClass(int tc) throws SocketException {
            tls.setTrafficClass(tc);
        }

        @Override
        public int getTrafficClass() throws SocketException {
            return tls.getTrafficClass();
        }

        @Override
        public void setReuseAddress(boolean on) throws SocketException {
            tls.setReuseAddress(on);
        }

        @Override
        public boolean getReuseAddress() throws SocketException {
            return tls.getReuseAddress();
        }

        @Override
        public void shutdownInput() throws IOException {
            tls.shutdownInput();
        }

        @Override
        public void shutdownOutput() throws IOException {
            tls.shutdownOutput();
        }

        @Override
        public boolean isConnected() {
            return tls.isConnected();
        }

        @Override
        public boolean isBound() {
            return tls.isBound();
        }

        @Override
        public boolean isClosed() {
            return tls.isClosed();
        }

        @Override
        public boolean isInputShutdown() {
            return tls.isInputShutdown();
        }

        @Override
        public boolean isOutputShutdown() {
            return tls.isOutputShutdown();
        }

        @Override
        public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
            tls.setPerformancePreferences(connectionTime, latency, bandwidth);
        }

        @Override
        public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
            tls.setOption(name, value);
            return this;
        }

        @Override
        public <T> T getOption(SocketOption<T> name) throws IOException {
            return tls.getOption(name);
        }

        @Override
        public Set<SocketOption<?>> supportedOptions() {
            return tls.supportedOptions();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return tls.getSupportedCipherSuites();
        }

        @Override
        public String[] getEnabledCipherSuites() {
            return tls.getEnabledCipherSuites();
        }

        @Override
        public void setEnabledCipherSuites(String[] suites) {
            tls.setEnabledCipherSuites(suites);
        }

        @Override
        public String[] getSupportedProtocols() {
            return tls.getSupportedProtocols();
        }

        @Override
        public String[] getEnabledProtocols() {
            return tls.getEnabledProtocols();
        }

        @Override
        public void setEnabledProtocols(String[] protocols) {
            tls.setEnabledProtocols(protocols);
        }

        @Override
        public SSLSession getSession() {
            return tls.getSession();
        }

        @Override
        public SSLSession getHandshakeSession() {
            return tls.getHandshakeSession();
        }

        @Override
        public void addHandshakeCompletedListener(HandshakeCompletedListener listener) {
            tls.addHandshakeCompletedListener(listener);
        }

        @Override
        public void removeHandshakeCompletedListener(HandshakeCompletedListener listener) {
            tls.removeHandshakeCompletedListener(listener);
        }

        @Override
        public void setUseClientMode(boolean mode) {
            tls.setUseClientMode(mode);
        }

        @Override
        public boolean getUseClientMode() {
            return tls.getUseClientMode();
        }

        @Override
        public void setNeedClientAuth(boolean need) {
            tls.setNeedClientAuth(need);
        }

        @Override
        public boolean getNeedClientAuth() {
            return tls.getNeedClientAuth();
        }

        @Override
        public void setWantClientAuth(boolean want) {
            tls.setWantClientAuth(want);
        }

        @Override
        public boolean getWantClientAuth() {
            return tls.getWantClientAuth();
        }

        @Override
        public void setEnableSessionCreation(boolean flag) {
            tls.setEnableSessionCreation(flag);
        }

        @Override
        public boolean getEnableSessionCreation() {
            return tls.getEnableSessionCreation();
        }

        @Override
        public SSLParameters getSSLParameters() {
            return tls.getSSLParameters();
        }

        @Override
        public void setSSLParameters(SSLParameters params) {
            tls.setSSLParameters(params);
        }

        @Override
        public String getApplicationProtocol() {
            return tls.getApplicationProtocol();
        }

        @Override
        public String getHandshakeApplicationProtocol() {
            return tls.getHandshakeApplicationProtocol();
        }

        @Override
        public void setHandshakeApplicationProtocolSelector(BiFunction<SSLSocket, List<String>, String> selector) {
            tls.setHandshakeApplicationProtocolSelector(selector);
        }

        @Override
        public BiFunction<SSLSocket, List<String>, String> getHandshakeApplicationProtocolSelector() {
            return tls.getHandshakeApplicationProtocolSelector();
        }

        @Override
        public String toString() {
            return tls.toString();
        }
    }
}
