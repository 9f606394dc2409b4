package org.transfergateway.protocols.ftp;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.apache.ftpserver.ConnectionConfigFactory;
import org.apache.ftpserver.DataConnectionConfigurationFactory;
import org.apache.ftpserver.FtpServer;
import org.apache.ftpserver.FtpServerFactory;
import org.apache.ftpserver.command.CommandFactoryFactory;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.listener.Listener;
import org.apache.ftpserver.listener.ListenerFactory;
import org.apache.ftpserver.listener.nio.NioListener;
import org.apache.ftpserver.ssl.ClientAuth;
import org.apache.ftpserver.ssl.SslConfiguration;
import org.apache.mina.transport.socket.SocketAcceptor;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.config.FtpConfig;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.ftp.command.AbortWatch;
import org.transfergateway.protocols.ftp.command.ChannelDataConnections;
import org.transfergateway.protocols.ftp.command.FtpCommands;
import org.transfergateway.protocols.tls.ServerTls;

/**
 * The FTP listener: MINA FtpServer with the gateway's users, file system and upload
 * commands, and safe settings in place of MINA's defaults (no anonymous login, data
 * connections only with the client's own address). With {@code ftp.tls} it speaks FTPS:
 * explicit (AUTH TLS, then PROT P for data) or implicit (TLS from the first byte).
 */
public final class FtpFrontEnd implements AutoCloseable {
    /** The id FTP transfers are counted under. */
    public static final Protocol PROTOCOL = Protocol.of("ftp");

    private final FtpConfig config;
    private final LimitsConfig limits;
    private final Accounts accounts;
    private final ServerTls tls;
    private FtpServer server;
    private final GatewayFtplet ftplet;
    private Listener listener;
    private boolean proxyProtocol;
    /** The names of MINA's listener filters MDC injection is known by. */
    private static final List<String> MDC_FILTERS = List.of("mdcFilter", "mdcFilter2");
    /** The listener's filter chain once started, by name, for tests. */
    private volatile List<String> filters = List.of();

    public FtpFrontEnd(FtpConfig config, LimitsConfig limits, Accounts accounts) {
        this(config, limits, accounts, null);
    }

    /** @param tls the server's certificate; required when {@code config.tls()} is not OFF */
    public FtpFrontEnd(FtpConfig config, LimitsConfig limits, Accounts accounts, ServerTls tls) {
        if (config.tls() != FtpConfig.Tls.OFF && tls == null) {
            throw new IllegalArgumentException("ftp.tls is " + config.tls() + " but no certificate was given");
        }
        this.config = config;
        this.limits = limits;
        this.ftplet = new GatewayFtplet(accounts.guard(), limits, accounts);
        this.accounts = accounts;
        accounts.meter().announce(PROTOCOL);
        this.tls = tls;
    }

    /**
     * Expects a PROXY v1/v2 header first on every control connection and takes the
     * client's address from it ({@code listeners.proxy-protocol}); called before {@link #start()}.
     */
    public FtpFrontEnd withProxyProtocol(boolean enabled) {
        proxyProtocol = enabled;
        return this;
    }

    /** Binds and starts accepting; returns the bound address (port 0 picks a free port). */
    public InetSocketAddress start() throws FtpException {
        DataConnectionConfigurationFactory data = new DataConnectionConfigurationFactory();
        data.setActiveEnabled(true);
        data.setActiveIpCheck(true);
        data.setPassiveIpCheck(true);
        data.setPassiveAddress(config.host());
        data.setPassiveExternalAddress(config.passiveAddress());
        data.setPassivePorts(config.passivePorts().toString());
        data.setIdleTime(seconds(config.idleTimeout()));
        SslConfiguration ssl = config.tls() == FtpConfig.Tls.OFF ? null : sslConfiguration(tls);
        // Data connections are protected when the client asks with PROT P.
        data.setSslConfiguration(ssl);

        ListenerFactory lf = new ListenerFactory();
        lf.setServerAddress(config.host());
        lf.setPort(config.port());
        lf.setIdleTimeout(seconds(config.idleTimeout()));
        lf.setSslConfiguration(ssl);
        lf.setImplicitSsl(config.tls() == FtpConfig.Tls.IMPLICIT);
        lf.setDataConnectionConfiguration(data.createDataConnectionConfiguration());
        listener = lf.createListener();

        ConnectionConfigFactory connections = new ConnectionConfigFactory();
        connections.setAnonymousLoginEnabled(false);
        connections.setMaxAnonymousLogins(0);
        connections.setMaxLogins(limits.maxConnections());
        connections.setMaxThreads(0);
        connections.setLoginFailureDelay((int) Math.min(Integer.MAX_VALUE, accounts.guard().failureDelay().toMillis()));

        CommandFactoryFactory commands = new CommandFactoryFactory();
        FtpCommands.all(limits, config.tls() == FtpConfig.Tls.EXPLICIT).forEach(commands::addCommand);

        FtpServerFactory sf = new FtpServerFactory();
        sf.addListener("default", listener);
        sf.setConnectionConfig(connections.createConnectionConfig());
        sf.setUserManager(new GatewayUserManager(accounts));
        sf.setFileSystem(GatewayFileSystem.factory(accounts, limits));
        sf.setCommandFactory(noDelay(commands.createCommandFactory()));
        // MINA changes this map when it stops: it must be mutable.
        Map<String, org.apache.ftpserver.ftplet.Ftplet> ftplets = new java.util.LinkedHashMap<>();
        ftplets.put("gateway", ftplet);
        if (config.requireTls()) {
            ftplets.put("require-tls", new TlsRequiredFtplet());
        }
        sf.setFtplets(ftplets);
        server = sf.createServer();
        server.start();
        tuneAcceptor();
        return new InetSocketAddress(config.host(), listener.getPort());
    }

    /**
     * Two things MINA's listener has no setting for, done while it is unbound for a moment
     * at start-up. Its accept queue holds 50 connections: in a burst the rest waited
     * unanswered in the kernel (SYN retries of 1, 3, 7 s) instead of being greeted or
     * refused with 421, so it gets the HTTP listener's queue (Netty's default, the system's
     * somaxconn). And ABOR must be seen while a download runs, before MINA's executor
     * ({@link AbortWatch}). MINA's two MDC filters go: for every event of every session,
     * before and after its executor, they copied the session's addresses into SLF4J's MDC
     * and out again, which no log pattern of the gateway reads.
     */
    private void tuneAcceptor() throws FtpException {
        SocketAcceptor acceptor;
        try {
            Field f = NioListener.class.getDeclaredField("acceptor");
            f.setAccessible(true);
            acceptor = (SocketAcceptor) f.get(listener);
        } catch (ReflectiveOperationException | RuntimeException e) {
            if (proxyProtocol) {
                // Without its filter the listener would trust the balancer's address for every client.
                throw new FtpException("listeners.proxy-protocol: cannot reach MINA's FTP acceptor: " + e, e);
            }
            LoggerFactory.getLogger(FtpFrontEnd.class).warn("FTP accept queue stays at MINA's 50 connections, ABOR is seen after RETR: {}", e.toString());
            return;
        }
        if (acceptor == null) {
            if (proxyProtocol) {
                throw new FtpException("listeners.proxy-protocol: MINA's FTP listener has no acceptor");
            }
            return;
        }
        InetSocketAddress bound = acceptor.getLocalAddress();
        acceptor.unbind();
        acceptor.setBacklog(Math.max(acceptor.getBacklog(), NetUtil.SOMAXCONN));
        if (acceptor.getFilterChain().contains("threadPool")) {
            acceptor.getFilterChain().addBefore("threadPool", "abortWatch", new AbortWatch());
        }
        for (String mdc : MDC_FILTERS) {
            if (acceptor.getFilterChain().contains(mdc)) {
                acceptor.getFilterChain().remove(mdc);
            }
        }
        if (proxyProtocol) {
            // First, before implicit TLS: the balancer's header precedes the handshake.
            acceptor.getFilterChain().addFirst("proxyHeader", new ProxyHeaderFilter());
        }
        filters = acceptor.getFilterChain().getAll().stream().map(e -> e.getName()).toList();
        try {
            acceptor.bind(bound);
        } catch (IOException e) {
            throw new FtpException("cannot listen on " + bound + " again: " + e.getMessage(), e);
        }
    }

    /** The filters of the listener's sessions, in order (empty before start). */
    List<String> filterNames() {
        return filters;
    }

    /** MINA's view of our certificate: TLS 1.2 or 1.3, no client certificates. */
    private static SslConfiguration sslConfiguration(ServerTls tls) {
        javax.net.ssl.SSLContext context = tls.sslContext();
        TlsDataSockets dataSockets = new TlsDataSockets(context.getSocketFactory());
        return new SslConfiguration() {
            /** Used by MINA for data connections only; the control connection takes the context. */
            @Override
            public javax.net.ssl.SSLSocketFactory getSocketFactory() {
                return dataSockets;
            }

            @Override
            public javax.net.ssl.SSLContext getSSLContext() {
                return context;
            }

            @Override
            public javax.net.ssl.SSLContext getSSLContext(String protocol) {
                return context;
            }

            @Override
            public String[] getEnabledCipherSuites() {
                return null; // the JDK's defaults
            }

            @Override
            public String getEnabledProtocol() {
                return "TLSv1.2";
            }

            @Override
            public String[] getEnabledProtocols() {
                return new String[] {"TLSv1.3", "TLSv1.2"};
            }

            @Override
            public ClientAuth getClientAuth() {
                return ClientAuth.NONE;
            }
        };
    }

    /**
     * Turns Nagle's algorithm off on the control connection before each command: else a
     * reply that follows another (226 after 150) waits for the client's delayed ACK, about
     * 40 ms on Linux, which caps small-file uploads at some 20 files a second. Also gives
     * the session its data connections on NIO channels before the first command can ask
     * for one ({@link ChannelDataConnections}).
     */
    private static org.apache.ftpserver.command.CommandFactory noDelay(org.apache.ftpserver.command.CommandFactory base) {
        return name -> {
            org.apache.ftpserver.command.Command command = base.getCommand(name);
            if (command == null) {
                return null;
            }
            return (session, context, request) -> {
                try {
                    if (session.getConfig() instanceof org.apache.mina.transport.socket.SocketSessionConfig c && !c.isTcpNoDelay()) {
                        c.setTcpNoDelay(true);
                    }
                } catch (org.apache.mina.core.RuntimeIoException e) {
                    // The client closed the connection after its last command (QUIT); nothing to speed up.
                }
                ChannelDataConnections.install(session, context, ProxyHeaderFilter.claimed(session));
                command.execute(ProxyHeaderFilter.asClient(session, context), context, request);
            };
        };
    }

    private static int seconds(java.time.Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toSeconds()));
    }

    /** Control connections open now. */
    public int openConnections() {
        return ftplet.openConnections();
    }

    /** Stops accepting connections; sessions already open go on. */
    public void stopAccepting() {
        if (server != null && !server.isSuspended()) {
            server.suspend();
        }
    }

    @Override
    public void close() {
        if (server != null && !server.isStopped()) {
            server.stop();
        }
    }
}
