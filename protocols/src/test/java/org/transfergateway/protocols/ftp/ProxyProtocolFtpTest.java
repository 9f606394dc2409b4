package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPConnectionClosedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.proxy.ProxyHeaders;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * listeners.proxy-protocol on the FTP listener: commons-net reaches the control port
 * through a loopback relay that prepends a PROXY header (the stand-in balancer) and opens
 * passive data connections straight to the gateway, as through a balancer's plain TCP
 * mapping of the passive ports.
 */
class ProxyProtocolFtpTest {
    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static InetSocketAddress address;
    static Accounts accounts;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 52660-52690, idle-timeout: 3s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                listeners: {proxy-protocol: true}
                limits: {max-connections-per-address: 2}
                security: {login-failure-delay: 0s, max-login-failures: 3, ban-duration: 10m}
                """.formatted(root));
        accounts = new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory());
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), accounts).withProxyProtocol(config.listeners().proxyProtocol());
        address = ftp.start();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    @Test
    void passiveUploadsThroughV1AndV2HeadersKeepEveryByte() throws Exception {
        byte[] content = new byte[600_000];
        new Random(5).nextBytes(content);
        int i = 0;
        for (Supplier<byte[]> header : List.<Supplier<byte[]>>of(
                () -> ProxyHeaders.v1("192.0.2.31", 40000, "127.0.0.1", 21),
                () -> ProxyHeaders.v2("2001:db8::31", 40001, "::1", 21),
                ProxyHeaders::v2Local)) {
            String name = "up" + i++ + ".bin";
            FTPClient c = login(relay(header), "secret");
            c.setFileType(FTP.BINARY_FILE_TYPE);
            c.enterLocalPassiveMode();
            // The data connection comes from the relay's address, the control connection's own peer.
            assertTrue(c.storeFile(name, new ByteArrayInputStream(content)), c.getReplyString());
            ByteArrayOutputStream back = new ByteArrayOutputStream();
            assertTrue(c.retrieveFile(name, back), c.getReplyString());
            assertArrayEquals(content, back.toByteArray());
            c.logout();
            c.disconnect();
            assertArrayEquals(content, Files.readAllBytes(root.resolve("alice").resolve(name)));
        }
    }

    @Test
    void aPassiveDataConnectionMayComeFromTheBalancerOrTheNamedClientOnly() throws Exception {
        byte[] content = "straight to the node\n".getBytes(StandardCharsets.US_ASCII);
        // The relay connects from 127.0.0.1 and names 127.0.0.2 as the client.
        FTPClient c = login(relay(() -> ProxyHeaders.v1("127.0.0.2", 1, "127.0.0.1", 21)), "secret");
        c.setFileType(FTP.BINARY_FILE_TYPE);
        c.enterLocalPassiveMode();
        c.setPassiveLocalIPAddress(InetAddress.getByName("127.0.0.2"));
        assertTrue(c.storeFile("direct.bin", new ByteArrayInputStream(content)), c.getReplyString());
        c.setPassiveLocalIPAddress(InetAddress.getByName("127.0.0.1"));
        assertTrue(c.storeFile("balanced.bin", new ByteArrayInputStream(content)), c.getReplyString());
        // Neither the balancer nor the client: another host taking the passive port.
        c.setPassiveLocalIPAddress(InetAddress.getByName("127.0.0.3"));
        assertFalse(c.storeFile("stolen.bin", new ByteArrayInputStream(content)));
        assertEquals(426, c.getReplyCode(), c.getReplyString());
        c.disconnect();
        assertArrayEquals(content, Files.readAllBytes(root.resolve("alice/direct.bin")));
        assertArrayEquals(content, Files.readAllBytes(root.resolve("alice/balanced.bin")));
        assertFalse(Files.exists(root.resolve("alice/stolen.bin")));
    }

    @Test
    void aBanOnOneClaimedAddressDoesNotBlockAnother() throws Exception {
        ProxyHeaders.Relay banned = relay(() -> ProxyHeaders.v1("192.0.2.32", 1, "127.0.0.1", 21));
        for (int i = 0; i < 3; i++) {
            FTPClient c = connect(banned);
            assertFalse(c.login("alice", "wrong" + i));
            assertEquals(530, c.getReplyCode());
            c.disconnect();
        }
        assertFalse(accounts.guard().banRemaining(InetAddress.getByName("192.0.2.32")).isZero());
        assertTrue(accounts.guard().banRemaining(InetAddress.getByName("127.0.0.1")).isZero());
        FTPConnectionClosedException refused = assertThrows(FTPConnectionClosedException.class, () -> connect(banned));
        assertTrue(refused.getMessage().contains("421"), refused.getMessage());
        FTPClient other = login(relay(() -> ProxyHeaders.v2("192.0.2.33", 2, "127.0.0.1", 21)), "secret");
        other.logout();
        other.disconnect();
    }

    @Test
    void theLimitPerAddressCountsTheClaimedAddresses() throws Exception {
        ProxyHeaders.Relay first = relay(() -> ProxyHeaders.v2("192.0.2.34", 1, "127.0.0.1", 21));
        FTPClient a = login(first, "secret");
        FTPClient b = login(first, "secret");
        FTPClient third = new FTPClient();
        assertThrows(FTPConnectionClosedException.class, () -> third.connect(InetAddress.getLoopbackAddress(), first.port()));
        assertTrue(third.getReplyString().startsWith("421 Too many connections from this address"), third.getReplyString());
        FTPClient c = login(relay(() -> ProxyHeaders.v1("192.0.2.35", 2, "127.0.0.1", 21)), "secret");
        for (FTPClient each : List.of(a, b, c)) {
            each.disconnect();
        }
    }

    @Test
    void portMayNameOnlyTheClaimedClient() throws Exception {
        FTPClient c = login(relay(() -> ProxyHeaders.v1("192.0.2.36", 1, "127.0.0.1", 21)), "secret");
        // The relay's (and this machine's) own address is not the client's.
        assertEquals(501, c.sendCommand("PORT 127,0,0,1,200,10"));
        assertEquals(501, c.sendCommand("EPRT |1|127.0.0.1|51210|"));
        c.disconnect();
    }

    @Test
    void aConnectionWithoutAValidHeaderIsClosedWithoutAGreeting() throws Exception {
        for (String first : new String[] {"USER alice\r\n", "PROXY TCP4 192.0.2.999 127.0.0.1 1 21\r\nUSER alice\r\n", ""}) {
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(first.getBytes(StandardCharsets.US_ASCII));
                // Nothing at all, not even 220: a silent one is closed after the idle timeout.
                assertEquals(-1, s.getInputStream().read(), first);
            }
        }
    }

    @Test
    void withoutTheSettingAHeaderIsARefusedCommand() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 52691-52695}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(root));
        try (FtpFrontEnd plain = new FtpFrontEnd(config.ftp(), config.limits(), accounts)) {
            int port = plain.start().getPort();
            try (Socket s = new Socket(address.getAddress(), port)) {
                s.setSoTimeout(10_000);
                InputStream in = s.getInputStream();
                assertTrue(line(in).startsWith("220"));
                s.getOutputStream().write(ProxyHeaders.v1("192.0.2.37", 1, "127.0.0.1", 21));
                // Before login MINA refuses any command it does not know with 530.
                assertEquals("530 Access denied.", line(in).trim());
            }
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            b.append((char) c);
        }
        return b.toString();
    }

    private ProxyHeaders.Relay relay(Supplier<byte[]> header) throws IOException {
        ProxyHeaders.Relay r = new ProxyHeaders.Relay(address, header);
        open.add(r);
        return r;
    }

    private static FTPClient connect(ProxyHeaders.Relay relay) throws IOException {
        FTPClient c = new FTPClient();
        c.setDefaultTimeout(10_000);
        c.connect(InetAddress.getLoopbackAddress(), relay.port());
        return c;
    }

    private static FTPClient login(ProxyHeaders.Relay relay, String password) throws IOException {
        FTPClient c = connect(relay);
        assertTrue(c.login("alice", password), c.getReplyString());
        return c;
    }
}
