package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.protocols.auth.LoginGuard;

/**
 * One gateway with listeners.proxy-protocol behind a real HAProxy on loopback: HTTP with
 * {@code send-proxy-v2} and the FTP control port with {@code send-proxy}. HAProxy listens
 * on 127.0.0.8 and connects to the gateway from 127.0.0.9; the clients come from
 * 127.0.0.2-5, and the gateway serves, bans and logs them, never the balancer. FTP data
 * goes straight to the node's own passive address: on one host the balancer cannot also
 * listen on the node's passive ports (MINA checks a port is free on every address), so
 * the mapping through a balancer is shown with a relay in ProxyProtocolFtpTest.
 */
class BehindHaproxyTest {
    private static final int PASSIVE_FIRST = 52720;
    private static final int PASSIVE_LAST = 52735;
    private static final String BALANCER = "127.0.0.8";
    private static final String BALANCER_SOURCE = "127.0.0.9";

    @TempDir
    static Path dir;
    static Gateway gateway;
    static Process haproxy;
    static int httpPort;
    static int ftpPort;
    static final ListAppender<ILoggingEvent> bans = new ListAppender<>();

    @BeforeAll
    static void start() throws Exception {
        RealClients.require("haproxy", "-v");
        RealClients.require("curl", "--version");
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                data-dir: %s
                ftp: {host: 127.0.0.1, port: 0, passive-ports: %d-%d, passive-address: 127.0.0.1}
                http: {host: 127.0.0.1, port: 0}
                listeners: {proxy-protocol: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                security: {login-failure-delay: 0s, max-login-failures: 3, ban-duration: 10m}
                """.formatted(dir.resolve("data"), PASSIVE_FIRST, PASSIVE_LAST, dir.resolve("files"))));
        bans.start();
        ((Logger) LoggerFactory.getLogger(LoginGuard.class)).addAppender(bans);
        httpPort = freePort();
        ftpPort = freePort();
        Path config = dir.resolve("haproxy.cfg");
        Files.writeString(config, """
                global
                    maxconn 200
                    log stdout format raw local0
                defaults
                    log global
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                    # A check may take this long to answer (the machine is shared), not just its interval.
                    timeout check 5s
                frontend http
                    bind %1$s:%2$d
                    default_backend http_nodes
                backend http_nodes
                    # Health checks every 200 ms: a v2 LOCAL header, then GET /healthz, which must answer 2xx.
                    option httpchk
                    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host gateway
                    server gw1 127.0.0.1:%3$d send-proxy-v2 source %4$s check inter 200ms fall 1
                frontend ftp
                    bind %1$s:%5$d
                    default_backend ftp_nodes
                backend ftp_nodes
                    server gw1 127.0.0.1:%6$d send-proxy source %4$s check inter 200ms fall 1
                """.formatted(BALANCER, httpPort, gateway.httpAddress().getPort(), BALANCER_SOURCE, ftpPort,
                gateway.ftpAddress().getPort()));
        haproxy = new ProcessBuilder("haproxy", "-db", "-f", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile()).start();
        awaitListening(httpPort);
        awaitListening(ftpPort);
    }

    @AfterAll
    static void stop() throws Exception {
        String log = haproxy == null ? "" : Files.readString(dir.resolve("haproxy.log"));
        ((Logger) LoggerFactory.getLogger(LoginGuard.class)).detachAppender(bans);
        if (haproxy != null) {
            haproxy.destroy();
            if (!haproxy.waitFor(10, TimeUnit.SECONDS)) {
                haproxy.destroyForcibly();
            }
        }
        if (gateway != null) {
            gateway.close();
        }
        // The health checks (a PROXY v2 LOCAL header and GET /healthz for HTTP, a v1 header
        // and a TCP connection for FTP) never found the node down.
        assertFalse(log.contains("is DOWN"), log);
    }

    @Test
    void curlUploadsOverHttpWithTheClientsAddress() throws Exception {
        byte[] content = new byte[3 * 1024 * 1024 + 17];
        new Random(1).nextBytes(content);
        Path local = dir.resolve("curl-up.bin");
        Files.write(local, content);
        assertEquals("201", curl("127.0.0.2", "-u", "alice:secret", "-T", local.toString(), url("/files/curl.bin")));
        assertArrayEquals(content, Files.readAllBytes(dir.resolve("files/alice/curl.bin")));
        Path back = dir.resolve("curl-back.bin");
        assertEquals("200", curlTo("127.0.0.2", back.toString(), "-u", "alice:secret", url("/files/curl.bin")));
        assertArrayEquals(content, Files.readAllBytes(back));

        // Failed logins from 127.0.0.3 ban that client, not the balancer all requests come from.
        for (int i = 0; i < 3; i++) {
            assertEquals("401", curl("127.0.0.3", "-u", "alice:wrong", url("/api/stats")));
        }
        assertEquals("429", curl("127.0.0.3", "-u", "alice:secret", url("/api/stats")));
        assertEquals("200", curl("127.0.0.2", "-u", "alice:secret", url("/api/stats")));
        assertTrue(banned("127.0.0.3"), "the ban is logged for the client");
        assertFalse(banned(BALANCER_SOURCE));
    }

    @Test
    void commonsNetUploadsOverFtpWithTheClientsAddress() throws Exception {
        byte[] content = new byte[2 * 1024 * 1024 + 5];
        new Random(2).nextBytes(content);
        FTPClient c = ftpFrom("127.0.0.4");
        assertTrue(c.login("alice", "secret"), c.getReplyString());
        c.setFileType(FTP.BINARY_FILE_TYPE);
        c.enterLocalPassiveMode();
        // PASV's address, the node's own: commons-net would otherwise use the control
        // connection's (the balancer's), and it checks the two are the same host.
        c.setIpAddressFromPasvResponse(true);
        c.setRemoteVerificationEnabled(false);
        assertTrue(c.storeFile("ftp.bin", new ByteArrayInputStream(content)), c.getReplyString());
        // The data connection went straight to the node, from the client the header named.
        assertEquals("127.0.0.1", c.getPassiveHost());
        assertEquals("127.0.0.4", c.getLocalAddress().getHostAddress());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(c.retrieveFile("ftp.bin", out), c.getReplyString());
        assertArrayEquals(content, out.toByteArray());
        c.logout();
        c.disconnect();
        assertArrayEquals(content, Files.readAllBytes(dir.resolve("files/alice/ftp.bin")));

        for (int i = 0; i < 3; i++) {
            FTPClient wrong = ftpFrom("127.0.0.5");
            assertFalse(wrong.login("alice", "wrong"));
            assertEquals(530, wrong.getReplyCode());
            wrong.disconnect();
        }
        assertTrue(banned("127.0.0.5"), "the ban is logged for the client");
        FTPClient refused = new FTPClient();
        refused.setDefaultTimeout(10_000);
        try {
            refused.connect(InetAddress.getByName(BALANCER), ftpPort, InetAddress.getByName("127.0.0.5"), 0);
        } catch (IOException expected) {
            // the gateway answers 421 and closes
        }
        assertEquals(421, refused.getReplyCode(), refused.getReplyString());
        FTPClient other = ftpFrom("127.0.0.4");
        assertTrue(other.login("alice", "secret"), other.getReplyString());
        other.disconnect();
    }

    private static boolean banned(String address) {
        synchronized (bans.list) {
            return bans.list.stream().anyMatch(e -> e.getFormattedMessage().startsWith(address + " banned"));
        }
    }

    /** Control and data connections from the loopback address {@code local}. */
    private static FTPClient ftpFrom(String local) throws IOException {
        FTPClient c = new FTPClient();
        c.setDefaultTimeout(10_000);
        c.setPassiveLocalIPAddress(InetAddress.getByName(local));
        c.connect(InetAddress.getByName(BALANCER), ftpPort, InetAddress.getByName(local), 0);
        return c;
    }

    private static String url(String path) {
        return "http://" + BALANCER + ":" + httpPort + path;
    }

    private static String curl(String from, String... args) throws Exception {
        return curlTo(from, "/dev/null", args);
    }

    /** Runs curl from the loopback address {@code from}, the body into {@code output}; returns the HTTP status it saw. */
    private static String curlTo(String from, String output, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--interface", from, "-o", output, "-w", "%{http_code}"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "curl finished");
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(BALANCER))) {
            return s.getLocalPort();
        }
    }

    private static void awaitListening(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(BALANCER, port), 1000);
                return;
            } catch (IOException e) {
                if (!haproxy.isAlive()) {
                    throw new IllegalStateException("haproxy stopped: " + Files.readString(dir.resolve("haproxy.log")));
                }
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
