package org.transfergateway.gateway;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.FtpConfig;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.ftp.FtpFrontEnd;
import org.transfergateway.protocols.http.HttpFrontEnd;
import org.transfergateway.protocols.http.WebDav;
import org.transfergateway.protocols.sftp.SftpFrontEnd;
import org.transfergateway.protocols.tls.ServerTls;
import org.transfergateway.storage.AbortsUploads;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.meter.BackendUpload;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * One running gateway: opens the backends, the meter and the accounts, then the FTP, HTTP
 * and SFTP listeners, in that order, and closes them in reverse. The only place where the
 * modules are wired together.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final List<AutoCloseable> open = new ArrayList<>();
    private final TransferMeter meter;
    private final Metrics metrics;
    private FtpFrontEnd ftp;
    private HttpFrontEnd http;
    private SftpFrontEnd sftp;
    private InetSocketAddress ftpAddress;
    private InetSocketAddress httpAddress;
    private InetSocketAddress sftpAddress;

    private Gateway(TransferMeter meter, Metrics metrics) {
        this.meter = meter;
        this.metrics = metrics;
    }

    /**
     * Starts everything the config names. A user mistake (a port in use, an unreachable
     * backend) is a {@link ConfigException} with one line naming the key or resource.
     */
    public static Gateway start(GatewayConfig config) throws IOException {
        // The certificate first: a bad key file is a config mistake, found before anything opens.
        ServerTls tls = tls(config);
        JdbcLedger ledger;
        try {
            ledger = JdbcLedger.open(config.ledger().jdbcUrl(), Clock.systemUTC(), config.cluster().nodeId());
        } catch (IOException e) {
            throw new ConfigException("ledger.url", e.getMessage());
        }
        return start(config, tls, ledger, ledger.created());
    }

    private static ServerTls tls(GatewayConfig config) {
        boolean tlsWanted = config.ftp().enabled() && config.ftp().tls() != FtpConfig.Tls.OFF
                || config.http().enabled() && config.http().tls();
        return tlsWanted ? ServerTls.load(config.tls()) : null;
    }

    /** @param ledgerIsNew true when the ledger was just created, so counts nothing stored yet */
    private static Gateway start(GatewayConfig config, ServerTls tls, Ledger ledger, boolean ledgerIsNew)
            throws IOException {
        TransferMeter meter;
        try {
            // Registered before it recovers and serves: a row another node counted dead
            // comes back to life first, so nothing this node starts can be failed for it.
            ledger.register("", ClusterMembership.version(), config.cluster().lease());
            meter = new TransferMeter(ledger);
        } catch (IOException | RuntimeException e) {
            ledger.close();
            throw e;
        }
        Gateway g = new Gateway(meter, new Metrics(meter));
        g.open.add(ledger);
        try {
            ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ledger-progress");
                t.setDaemon(true);
                return t;
            });
            g.open.add(ticker::shutdownNow);
            ticker.scheduleAtFixedRate(meter::flushProgress, 1, 1, TimeUnit.SECONDS);
            Backends opened = Backends.open(config);
            g.open.add(opened);
            Map<String, Storage> backends = opened.all();
            abortAbandonedUploads(ledger, backends);
            if (ledgerIsNew) {
                warnOfStoredData(backends);
            }
            opened.openPools(config.storage(), meter);
            g.metrics.bindBackends(opened);
            meter.announce(FtpFrontEnd.PROTOCOL, HttpFrontEnd.PROTOCOL, SftpFrontEnd.PROTOCOL);
            if (config.http().enabled() && config.webdav().enabled()) {
                meter.announce(WebDav.PROTOCOL);
            }
            Accounts accounts = new Accounts(config, opened.targets(), meter);
            accounts.share(ledger);
            if (config.ftp().enabled()) {
                g.ftp = new FtpFrontEnd(config.ftp(), config.limits(), accounts, tls)
                        .withProxyProtocol(config.listeners().proxyProtocol());
                g.open.add(g.ftp);
                g.ftpAddress = bind("ftp.port", config.ftp().host(), config.ftp().port(), g.ftp::start);
                g.metrics.bindConnections("ftp", g.ftp::openConnections);
                log.info("listening: ftp on {}:{} (passive ports {}, announced as {}){}", config.ftp().host(),
                        g.ftpAddress.getPort(), config.ftp().passivePorts(), config.ftp().passiveAddress(),
                        switch (config.ftp().tls()) {
                            case OFF -> "";
                            case EXPLICIT -> config.ftp().requireTls() ? ", TLS required (AUTH TLS)" : ", TLS on AUTH TLS";
                            case IMPLICIT -> ", implicit TLS";
                        });
            }
            if (config.http().enabled()) {
                g.http = new HttpFrontEnd(config.http(), config.limits(), accounts, g.metrics::scrape,
                        new BackendsReport(config.storage(), opened, meter), config.http().tls() ? tls.nettyContext() : null).withWebDav(config.webdav().enabled())
                        .withTus(config.tus(), config.dataDir().resolve("tus"))
                        .withProxyProtocol(config.listeners().proxyProtocol());
                g.open.add(g.http);
                g.httpAddress = bind("http.port", config.http().host(), config.http().port(), g.http::start);
                g.metrics.bindConnections("http", g.http::openConnections);
                log.info("listening: http on {}:{}{}{}{}", config.http().host(), g.httpAddress.getPort(),
                        config.http().tls() ? " (HTTPS)" : "", config.webdav().enabled() ? ", WebDAV under /dav/" : "", config.tus().enabled() ? ", tus under /tus/" : "");
            }
            if (config.sftp().enabled()) {
                g.sftp = new SftpFrontEnd(config.sftp(), config.limits(), accounts)
                        .withProxyProtocol(config.listeners().proxyProtocol());
                g.open.add(g.sftp);
                g.sftpAddress = bind("sftp.port", config.sftp().host(), config.sftp().port(), g.sftp::start);
                g.metrics.bindConnections("sftp", g.sftp::openConnections);
                log.info("listening: sftp on {}:{} (host key {}, {})", config.sftp().host(), g.sftpAddress.getPort(),
                        config.sftp().hostKey(), g.sftp.hostKeyFingerprint());
            }
            // Registered once it serves: a node in the list can be reached.
            g.open.add(ClusterMembership.join(ledger, meter, backends, config.cluster(), g.serves(config),
                    accounts.guard()::refreshShared));
            return g;
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /**
     * Aborts the uploads that this node's transfers opened and a crash left open, whatever
     * their age: the age-based sweep of each backend cannot tell them from running ones.
     */
    private static void abortAbandonedUploads(Ledger ledger, Map<String, Storage> backends) throws IOException {
        abortUploads(ledger, backends, ledger.abandonedUploads(), "a stop without shutdown left open");
    }

    /** Aborts {@code uploads}, forgetting each one aborted; a failure keeps it recorded for a later try. */
    static void abortUploads(Ledger ledger, Map<String, Storage> backends, List<BackendUpload> uploads, String why) {
        for (BackendUpload u : uploads) {
            if (!(backends.get(u.backend()) instanceof AbortsUploads b)) {
                log.warn("ledger: cannot abort the upload {} of {}: backend {} is not configured", u.uploadId(), u.key(), u.backend());
                continue;
            }
            try {
                if (b.abortUpload(u.key(), u.uploadId())) {
                    ledger.uploadClosed(u);
                    log.info("backend {}: aborted the upload of {} that {}", u.backend(), u.key(), why);
                }
            } catch (IOException e) {
                // Kept in the ledger: the next start-up tries again.
                log.warn("backend {}: could not abort the upload of {} ({}): {}", u.backend(), u.key(), why, e.getMessage());
            }
        }
    }

    /** A new ledger counts nothing stored; a backend that holds files already says otherwise. */
    private static void warnOfStoredData(Map<String, Storage> backends) throws IOException {
        for (Storage b : backends.values()) {
            if (holdsAFile(b)) {
                log.warn("ledger: the ledger is new, so stored starts from zero, but backend {} already holds files;"
                        + " to adopt the backends' figures, stop the gateway and run: reconcile --config FILE --fix", b.name());
            }
        }
    }

    /** Stops a walk at its first object: one listing page at most, not the whole backend. */
    private static final class FoundOne extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FoundOne() {
            super(null, null, false, false);
        }
    }

    private static boolean holdsAFile(Storage backend) throws IOException {
        try {
            backend.walk("", info -> {
                throw new FoundOne();
            });
            return false;
        } catch (FoundOne found) {
            return true;
        }
    }

    private interface Binder {
        InetSocketAddress bind() throws Exception;
    }

    private static InetSocketAddress bind(String key, String host, int port, Binder binder) throws IOException {
        try {
            return binder.bind();
        } catch (Exception e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof BindException) {
                    throw new ConfigException(key, host + ":" + port + " cannot be bound: " + c.getMessage());
                }
            }
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException(key + ": " + host + ":" + port + " could not start: " + e.getMessage(), e);
        }
    }

    /** What the node registry shows this node serving: each listener's protocol and address. */
    private String serves(GatewayConfig config) {
        List<String> out = new ArrayList<>();
        if (ftpAddress != null) {
            out.add("ftp " + config.ftp().host() + ":" + ftpAddress.getPort());
        }
        if (httpAddress != null) {
            out.add((config.http().tls() ? "https " : "http ") + config.http().host() + ":" + httpAddress.getPort());
        }
        if (sftpAddress != null) {
            out.add("sftp " + config.sftp().host() + ":" + sftpAddress.getPort());
        }
        return String.join(", ", out);
    }

    public TransferMeter meter() {
        return meter;
    }

    /** The bound FTP address, or null when FTP is off. */
    public InetSocketAddress ftpAddress() {
        return ftpAddress;
    }

    /** The bound HTTP address, or null when HTTP is off. */
    public InetSocketAddress httpAddress() {
        return httpAddress;
    }

    /** The bound SFTP address, or null when SFTP is off. */
    public InetSocketAddress sftpAddress() {
        return sftpAddress;
    }

    /**
     * Stops accepting, lets the running transfers finish for up to {@code grace}, then
     * closes everything: what is still running is aborted (counted as failed, nothing
     * partial left behind).
     */
    public void shutdown(java.time.Duration grace) {
        if (ftp != null) {
            ftp.stopAccepting();
        }
        if (http != null) {
            http.stopAccepting();
        }
        if (sftp != null) {
            sftp.stopAccepting();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        int running = meter.active().size();
        if (running > 0) {
            log.info("waiting up to {} s for {} running transfers", grace.toSeconds(), running);
        }
        while (!meter.active().isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!meter.active().isEmpty()) {
            log.warn("aborting {} transfers still running after {} s", meter.active().size(), grace.toSeconds());
        } else if (running > 0) {
            // A transfer ends just before its reply (226, 201) is written: let the replies go out.
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    @Override
    public void close() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                log.warn("closing {} failed: {}", open.get(i).getClass().getSimpleName(), e.toString());
            }
        }
        open.clear();
    }
}
