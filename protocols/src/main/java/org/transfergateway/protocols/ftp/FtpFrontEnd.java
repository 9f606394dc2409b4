package org.transfergateway.protocols.ftp;

import java.net.InetSocketAddress;
import java.util.Map;
import org.apache.ftpserver.ConnectionConfigFactory;
import org.apache.ftpserver.DataConnectionConfigurationFactory;
import org.apache.ftpserver.FtpServer;
import org.apache.ftpserver.FtpServerFactory;
import org.apache.ftpserver.command.CommandFactoryFactory;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.listener.Listener;
import org.apache.ftpserver.listener.ListenerFactory;
import org.transfergateway.config.FtpConfig;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.ftp.command.FtpCommands;

/**
 * The FTP listener: MINA FtpServer with the gateway's users, file system and upload
 * commands, and safe settings in place of MINA's defaults (no anonymous login, data
 * connections only with the client's own address).
 */
public final class FtpFrontEnd implements AutoCloseable {
    private final FtpConfig config;
    private final LimitsConfig limits;
    private final Accounts accounts;
    private FtpServer server;
    private Listener listener;

    public FtpFrontEnd(FtpConfig config, LimitsConfig limits, Accounts accounts) {
        this.config = config;
        this.limits = limits;
        this.accounts = accounts;
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

        ListenerFactory lf = new ListenerFactory();
        lf.setServerAddress(config.host());
        lf.setPort(config.port());
        lf.setIdleTimeout(seconds(config.idleTimeout()));
        lf.setDataConnectionConfiguration(data.createDataConnectionConfiguration());
        listener = lf.createListener();

        ConnectionConfigFactory connections = new ConnectionConfigFactory();
        connections.setAnonymousLoginEnabled(false);
        connections.setMaxAnonymousLogins(0);
        connections.setMaxLogins(limits.maxConnections());
        connections.setMaxThreads(0);
        connections.setLoginFailureDelay((int) Math.min(Integer.MAX_VALUE, accounts.guard().failureDelay().toMillis()));

        CommandFactoryFactory commands = new CommandFactoryFactory();
        FtpCommands.all().forEach(commands::addCommand);

        FtpServerFactory sf = new FtpServerFactory();
        sf.addListener("default", listener);
        sf.setConnectionConfig(connections.createConnectionConfig());
        sf.setUserManager(new GatewayUserManager(accounts));
        sf.setFileSystem(GatewayFileSystem.factory(accounts));
        sf.setCommandFactory(commands.createCommandFactory());
        // MINA changes this map when it stops: it must be mutable.
        sf.setFtplets(new java.util.LinkedHashMap<>(Map.of("gateway", new GatewayFtplet(accounts.guard(), limits))));
        server = sf.createServer();
        server.start();
        return new InetSocketAddress(config.host(), listener.getPort());
    }

    private static int seconds(java.time.Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toSeconds()));
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
