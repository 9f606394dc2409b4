package org.transfergateway.protocols.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslContext;
import io.netty.channel.ChannelFuture;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.config.HttpConfig;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.auth.Accounts;

/**
 * The HTTP front end: binds the listener, owns its event loops and the blocking-task
 * pool on which every storage call runs, and declares the routes.
 */
public final class HttpFrontEnd implements Closeable {
    /** The id HTTP transfers are counted under. */
    public static final Protocol PROTOCOL = Protocol.of("http");

    private static final Logger log = LoggerFactory.getLogger(HttpFrontEnd.class);
    static final String FILES = "/files";
    /** Threads that may block on storage at once; more tasks wait in the queue. */
    private static final int BLOCKING_THREADS = 64;

    private final HttpConfig config;
    private final LimitsConfig limits;
    private final Accounts accounts;
    private final Supplier<String> prometheusText;
    private final Supplier<BackendsView> backends;
    private final SslContext tls;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private ThreadPoolExecutor blocking;
    private Channel server;
    private volatile ConnectionLimiter limiter;
    private volatile HttpServices services;
    private boolean webDav;
    private boolean proxyProtocol;
    private Tus tus;
    private boolean tusSweeps;

    /** Plain HTTP that reports no backends at {@code /api/backends}. */
    public HttpFrontEnd(HttpConfig config, LimitsConfig limits, Accounts accounts, Supplier<String> prometheusText) {
        this(config, limits, accounts, prometheusText, () -> BackendsView.NONE, null);
    }

    /**
     * @param prometheusText the text of {@code /metrics}
     * @param backends       a new report of {@code /api/backends} per call; must not block
     * @param tls            the HTTPS context; required when {@code config.tls()} is true
     */
    public HttpFrontEnd(HttpConfig config, LimitsConfig limits, Accounts accounts, Supplier<String> prometheusText,
                        Supplier<BackendsView> backends, SslContext tls) {
        if (config.tls() && tls == null) {
            throw new IllegalArgumentException("http.tls is true but no certificate was given");
        }
        this.config = config;
        this.limits = limits;
        this.accounts = accounts;
        accounts.meter().announce(PROTOCOL);
        this.prometheusText = prometheusText;
        this.backends = backends;
        this.tls = config.tls() ? tls : null;
    }

    /**
     * Serves WebDAV under {@code /dav/} too (SPEC section 8), counted as {@code webdav};
     * called before {@link #start()}.
     */
    public synchronized HttpFrontEnd withWebDav(boolean enabled) {
        webDav = enabled;
        if (enabled) {
            accounts.meter().announce(WebDav.PROTOCOL);
        }
        return this;
    }

    /**
     * Serves resumable uploads (tus 1.0.0) under {@code /tus/} (SPEC section 9), their partial
     * data kept under {@code dir}; called before {@link #start()}.
     */
    public synchronized HttpFrontEnd withTus(org.transfergateway.config.TusConfig config, java.nio.file.Path dir) {
        return withTus(config, dir, java.time.Clock.systemUTC(), true);
    }

    /** For tests: tus on {@code clock}, and without the sweeper unless {@code sweep}. */
    synchronized HttpFrontEnd withTus(org.transfergateway.config.TusConfig config, java.nio.file.Path dir,
                                      java.time.Clock clock, boolean sweep) {
        tus = config.enabled() ? new Tus(config, limits, dir, clock) : null;
        tusSweeps = sweep;
        return this;
    }

    /**
     * Expects a PROXY v1/v2 header first on every connection and takes the client's address
     * from it ({@code listeners.proxy-protocol}); called before {@link #start()}.
     */
    public synchronized HttpFrontEnd withProxyProtocol(boolean enabled) {
        proxyProtocol = enabled;
        return this;
    }

    /** The routes of SPEC sections 3, 6, 10 and 11, and with {@code dav} those of WebDAV (section 8). */
    static RouteTable routes(boolean dav) {
        return routes(dav, null);
    }

    /** With {@code tus} (null: none), the routes of tus too (section 9). */
    static RouteTable routes(boolean dav, Tus tus) {
        RouteTable routes = dav ? new WebDav(java.time.Clock.systemUTC()).routes(new RouteTable()) : new RouteTable();
        if (tus != null) {
            tus.routes(routes);
        }
        return Dashboard.routes(routes)
                .open(HttpMethod.GET, RouteTable.exactly("/healthz"), new HealthHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/stats"), new StatsHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/transfers"), new TransfersHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/events"), new EventsHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/throughput"), new ThroughputHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/backends"), new BackendsHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/nodes"), new NodesHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/api/users"), new UsersHandler())
                .simple(HttpMethod.GET, RouteTable.exactly("/metrics"), new MetricsHandler())
                .simple(HttpMethod.GET, RouteTable.folderUnder(FILES), new ListingHandler(FILES))
                .simple(HttpMethod.GET, RouteTable.under(FILES), new DownloadHandler(FILES))
                .simple(HttpMethod.HEAD, RouteTable.under(FILES), new DownloadHandler(FILES))
                .simple(HttpMethod.DELETE, RouteTable.under(FILES), new DeleteHandler(FILES))
                .upload(HttpMethod.PUT, RouteTable.under(FILES), PutUpload.handler(FILES))
                .upload(HttpMethod.POST, RouteTable.under(FILES), MultipartUpload.handler(FILES));
    }

    /**
     * Binds and accepts connections; returns the bound address (port 0 picks a free one).
     * Whether HTTP is enabled at all is the caller's decision.
     *
     * @throws IOException when the address cannot be bound (in use, not local)
     */
    public synchronized InetSocketAddress start() throws IOException, InterruptedException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        // The queue needs no bound of its own: each connection has at most a few tasks
        // waiting (one socket read's worth of chunks), since it reads only when they are done.
        blocking = new ThreadPoolExecutor(BLOCKING_THREADS, BLOCKING_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads("http-blocking-"));
        blocking.allowCoreThreadTimeOut(true);
        boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        workers = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        HttpServices services = HttpServices.of(accounts, blocking, prometheusText, backends);
        this.services = services;
        limiter = new ConnectionLimiter(limits.maxConnections(), limits.maxConnectionsPerAddress(), services.responses());
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                // Reads happen on demand, paced by storage: see ConnectionHandler.
                .childOption(ChannelOption.AUTO_READ, false)
                // Socket reads of up to 256 KiB (Netty's default stops at 64 KiB): a 1 GiB
                // PUT then takes a quarter of the system calls. The decoder hands the body
                // on in 64 KiB slices of the same buffer.
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 2048, 256 * 1024))
                // The pooled allocator, not Netty 4.2's default adaptive one: with small uploads
                // the adaptive one kept allocating (and zeroing) new direct memory, and the
                // gateway spent about a sixth more CPU per file (measured: bench small-files).
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(new HttpInitializer(config, limits, limiter, services, routes(webDav, tus)).withTls(tls)
                        .withProxyProtocol(proxyProtocol));
        ChannelFuture bound = b.bind(config.host(), config.port()).await();
        if (!bound.isSuccess()) {
            close();
            Throwable cause = bound.cause();
            throw new IOException("http: cannot listen on " + config.host() + ":" + config.port() + ": "
                    + cause.getMessage(), cause);
        }
        server = bound.channel();
        if (tus != null && tusSweeps) {
            Tus t = tus;
            long every = t.sweepEvery().toMillis();
            ThreadPoolExecutor pool = blocking;
            boss.scheduleAtFixedRate(() -> {
                try {
                    pool.execute(() -> t.sweep(accounts.meter(),
                            name -> accounts.user(name).map(u -> accounts.files(u, PROTOCOL)).orElse(null)));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // closing: the pool takes no more work, and the next start sweeps
                }
            }, every, every, TimeUnit.MILLISECONDS);
        }
        InetSocketAddress address = (InetSocketAddress) server.localAddress();
        log.debug("HTTP bound to {}:{}", address.getHostString(), address.getPort());
        return address;
    }

    /** The connections open now, as the connection limits count them. */
    public int openConnections() {
        ConnectionLimiter l = limiter;
        return l == null ? 0 : l.open();
    }

    /** The event streams ({@code /api/events}) sending now. */
    int openEventStreams() {
        HttpServices s = services;
        return s == null ? 0 : s.events().openStreams();
    }

    /** Stops accepting connections; open connections and their transfers go on. */
    public synchronized void stopAccepting() {
        if (server != null) {
            server.close().syncUninterruptibly();
            server = null;
        }
    }

    /** Stops accepting, lets the event loops finish and waits for the blocking tasks briefly. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
            server = null;
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            boss = null;
            workers = null;
        }
        if (services != null) {
            services.events().close();
        }
        if (blocking != null) {
            blocking.shutdown();
            try {
                if (!blocking.awaitTermination(5, TimeUnit.SECONDS)) {
                    blocking.shutdownNow();
                }
            } catch (InterruptedException e) {
                blocking.shutdownNow();
                Thread.currentThread().interrupt();
            }
            blocking = null;
        }
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
