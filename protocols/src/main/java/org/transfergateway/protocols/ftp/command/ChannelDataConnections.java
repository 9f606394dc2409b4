package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import org.apache.ftpserver.DataConnectionException;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.apache.ftpserver.impl.IODataConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passive data connections whose sockets carry an NIO channel. MINA listens with a plain
 * {@code ServerSocket}, and a socket it accepts has no channel: each byte is then copied
 * twice inside the JVM (socket to a heap array, heap array to the direct buffer of the
 * file write), and a download cannot be handed to the kernel (sendfile). Here MINA sets up
 * the passive port as usual (port range, address, TLS, idle time), and the port is then
 * listened on by a {@link ServerSocketChannel} instead, before PASV or EPSV answers.
 * {@link DataSocket} uses the channel of an accepted socket where it can; TLS and the
 * converting transfers go through the socket's streams as before.
 *
 * <p>Behind a balancer with the PROXY protocol, MINA's check that a passive data
 * connection comes from the control connection's address accepts two peers: the control
 * connection's own (the balancer, which maps the passive ports in plain TCP mode) and the
 * client its PROXY header named (a client that reaches this node's passive address
 * directly). Any other is refused as before.
 */
public final class ChannelDataConnections extends IODataConnectionFactory {
    private static final Logger log = LoggerFactory.getLogger(ChannelDataConnections.class);
    /** Where MINA's session keeps its data connection factory ({@code FtpIoSession}). */
    private static final String ATTRIBUTE = "org.apache.ftpserver.data-connection";
    private static final Field SERVER_SOCKET = serverSocketField();

    /** The client a PROXY header named, and the peer of the last data connection accepted; null without a header. */
    private final PassivePeers peers;

    private ChannelDataConnections(FtpServerContext context, FtpIoSession session, PassivePeers peers) {
        super(context, session);
        this.peers = peers;
    }

    private static Field serverSocketField() {
        try {
            Field f = IODataConnectionFactory.class.getDeclaredField("servSoc");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(ChannelDataConnections.class)
                    .info("FTP passive data connections stay on MINA's sockets: {}", e.toString());
            return null;
        }
    }

    /**
     * Gives a new session this factory, before MINA would create its own on first use.
     *
     * @param claimed the client the control connection's PROXY header named, or null
     */
    public static void install(FtpIoSession session, FtpServerContext context, InetSocketAddress claimed) {
        if (SERVER_SOCKET == null || session.containsAttribute(ATTRIBUTE)) {
            return;
        }
        PassivePeers peers = claimed == null ? null : new PassivePeers(claimed);
        // MINA checks a passive data connection's peer against its session's remote address.
        FtpIoSession checked = peers == null ? session : new ProxiedSession(session, context, () -> peers.expected(session));
        ChannelDataConnections f = new ChannelDataConnections(context, checked, peers);
        f.setServerControlAddress(((InetSocketAddress) session.getLocalAddress()).getAddress());
        session.setAttribute(ATTRIBUTE, f);
    }

    @Override
    public synchronized InetSocketAddress initPassiveDataConnection() throws DataConnectionException {
        InetSocketAddress answered = super.initPassiveDataConnection();
        listenOnChannel();
        return answered;
    }

    /** Moves the listening port from MINA's socket to a channel, or leaves MINA's in place. */
    private void listenOnChannel() throws DataConnectionException {
        ServerSocket mina;
        try {
            mina = (ServerSocket) SERVER_SOCKET.get(this);
        } catch (IllegalAccessException e) {
            return;
        }
        if (mina == null) {
            return;
        }
        InetSocketAddress bound = (InetSocketAddress) mina.getLocalSocketAddress();
        ServerSocketChannel channel = null;
        try {
            mina.close();
            channel = ServerSocketChannel.open();
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(bound);
            SERVER_SOCKET.set(this, watched(channel.socket()));
        } catch (IOException | IllegalAccessException e) {
            log.debug("passive port {} stays on a plain socket: {}", bound, e.toString());
            closeQuietly(channel);
            try {
                // The port stays reserved for this session, and PASV announces it: listen on it again.
                SERVER_SOCKET.set(this, watched(new ServerSocket(bound.getPort(), 0, bound.getAddress())));
            } catch (IOException | IllegalAccessException again) {
                throw new DataConnectionException("cannot listen on " + bound + ": " + again.getMessage(), again);
            }
        }
    }

    private ServerSocket watched(ServerSocket listening) throws IOException {
        return peers == null ? listening : peers.watch(listening);
    }

    /** The two peers a passive data connection may have behind a balancer. */
    private static final class PassivePeers {
        private final InetSocketAddress claimed;
        private volatile InetAddress accepted;

        PassivePeers(InetSocketAddress claimed) {
            this.claimed = claimed;
        }

        /**
         * The address MINA compares the accepted data connection's peer with: the named
         * client when that is the peer, else the control connection's own peer.
         */
        SocketAddress expected(FtpIoSession control) {
            InetAddress a = accepted;
            return a != null && a.equals(claimed.getAddress()) ? claimed : control.getRemoteAddress();
        }

        /** The listening socket, noting the peer of each connection it accepts before MINA checks it. */
        ServerSocket watch(ServerSocket listening) throws IOException {
            return new ServerSocket() {
                @Override
                public Socket accept() throws IOException {
                    Socket s = listening.accept();
                    accepted = s.getInetAddress();
                    return s;
                }

                @Override
                public void setSoTimeout(int timeout) throws SocketException {
                    listening.setSoTimeout(timeout);
                }

                @Override
                public int getLocalPort() {
                    return listening.getLocalPort();
                }

                @Override
                public SocketAddress getLocalSocketAddress() {
                    return listening.getLocalSocketAddress();
                }

                @Override
                public boolean isClosed() {
                    return listening.isClosed();
                }

                @Override
                public void close() throws IOException {
                    try {
                        listening.close();
                    } finally {
                        super.close();
                    }
                }
            };
        }
    }

    private static void closeQuietly(ServerSocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing was accepted on it
            }
        }
    }
}
