package org.transfergateway.protocols.sftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.junit.jupiter.api.AfterAll;
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
 * listeners.proxy-protocol on the SFTP listener: MINA SSHD's client reaches the gateway
 * through a loopback relay that prepends a PROXY header, and the gateway counts and bans
 * the client the header names, never the relay's address.
 */
class ProxyProtocolSftpTest {
    @TempDir
    static Path root;
    @TempDir
    static Path data;
    static SftpFrontEnd sftp;
    static InetSocketAddress address;
    static Accounts accounts;
    static SshClient client;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                sftp: {port: 0, host-key: %s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                listeners: {proxy-protocol: true}
                limits: {max-connections-per-address: 2}
                security: {login-failure-delay: 0s, max-login-failures: 3, ban-duration: 5m}
                """.formatted(data.resolve("host_key"), root));
        accounts = new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory());
        sftp = new SftpFrontEnd(config.sftp(), config.limits(), accounts).withProxyProtocol(config.listeners().proxyProtocol());
        address = sftp.start();
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
    }

    @AfterAll
    static void stop() throws IOException {
        client.stop();
        sftp.close();
    }

    @Test
    void uploadsThroughV1AndV2HeadersKeepEveryByte() throws Exception {
        byte[] content = new byte[700_000];
        new Random(3).nextBytes(content);
        int i = 0;
        for (Supplier<byte[]> header : java.util.List.<Supplier<byte[]>>of(
                () -> ProxyHeaders.v1("192.0.2.21", 40000, "127.0.0.1", 22),
                () -> ProxyHeaders.v2("2001:db8::21", 40001, "::1", 22))) {
            String name = "up" + i++ + ".bin";
            try (ProxyHeaders.Relay relay = new ProxyHeaders.Relay(address, header);
                    ClientSession s = login(relay, "secret");
                    SftpClient c = SftpClientFactory.instance().createSftpClient(s);
                    OutputStream out = c.write(name, EnumSet.of(SftpClient.OpenMode.Write, SftpClient.OpenMode.Create))) {
                out.write(content);
            }
            assertArrayEquals(content, Files.readAllBytes(root.resolve("alice").resolve(name)));
        }
    }

    @Test
    void theLimitPerAddressCountsTheClaimedAddresses() throws Exception {
        try (ProxyHeaders.Relay first = new ProxyHeaders.Relay(address, () -> ProxyHeaders.v2("192.0.2.22", 1, "127.0.0.1", 22));
                ProxyHeaders.Relay second = new ProxyHeaders.Relay(address, () -> ProxyHeaders.v1("192.0.2.23", 2, "127.0.0.1", 22));
                ClientSession a = login(first, "secret");
                ClientSession b = login(first, "secret")) {
            assertThrows(IOException.class, () -> login(first, "secret").close());
            try (ClientSession c = login(second, "secret"); ClientSession d = login(second, "secret")) {
                assertTrue(c.isAuthenticated() && d.isAuthenticated());
            }
        }
    }

    @Test
    void aBanOnOneClaimedAddressDoesNotBlockAnother() throws Exception {
        try (ProxyHeaders.Relay banned = new ProxyHeaders.Relay(address, () -> ProxyHeaders.v1("192.0.2.24", 1, "127.0.0.1", 22));
                ProxyHeaders.Relay other = new ProxyHeaders.Relay(address, () -> ProxyHeaders.v2("192.0.2.25", 2, "127.0.0.1", 22))) {
            for (int i = 0; i < 3; i++) {
                assertThrows(IOException.class, () -> login(banned, "wrong").close());
            }
            assertFalse(accounts.guard().banRemaining(InetAddress.getByName("192.0.2.24")).isZero());
            assertTrue(accounts.guard().banRemaining(InetAddress.getByName("127.0.0.1")).isZero());
            assertThrows(IOException.class, () -> login(banned, "secret").close());
            try (ClientSession s = login(other, "secret")) {
                assertTrue(s.isAuthenticated());
            }
        }
    }

    @Test
    void aLocalHeaderKeepsTheBalancersOwnAddress() throws Exception {
        try (ProxyHeaders.Relay health = new ProxyHeaders.Relay(address, ProxyHeaders::v2Local);
                ProxyHeaders.Relay client = new ProxyHeaders.Relay(address, () -> ProxyHeaders.v2("192.0.2.26", 1, "127.0.0.1", 22));
                ClientSession a = login(health, "secret");
                ClientSession b = login(health, "secret")) {
            // Both count against the relay's own address, 127.0.0.1, which is now full.
            assertThrows(IOException.class, () -> login(health, "secret").close());
            try (ClientSession c = login(client, "secret")) {
                assertTrue(c.isAuthenticated());
            }
        }
    }

    @Test
    void aConnectionWithoutAValidHeaderIsClosed() throws Exception {
        for (String first : new String[] {"SSH-2.0-OpenSSH_9.2\r\n", "PROXY TCP4 192.0.2.999 127.0.0.1 1 22\r\nSSH-2.0-x\r\n"}) {
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(first.getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                // The server's own identification line may come first; then the connection ends.
                byte[] rest = in.readAllBytes();
                assertTrue(rest.length < 100, new String(rest, StandardCharsets.ISO_8859_1));
            }
        }
        // A real client straight to the listener, without a balancer, is refused too.
        assertThrows(IOException.class, () -> {
            try (ClientSession s = client.connect("alice", address).verify(Duration.ofSeconds(10)).getClientSession()) {
                s.addPasswordIdentity("secret");
                s.auth().verify(Duration.ofSeconds(10));
            }
        });
    }

    private static ClientSession login(ProxyHeaders.Relay relay, String password) throws IOException {
        ClientSession s = client.connect("alice", new InetSocketAddress("127.0.0.1", relay.port()))
                .verify(Duration.ofSeconds(10)).getClientSession();
        try {
            s.addPasswordIdentity(password);
            s.auth().verify(Duration.ofSeconds(10));
            return s;
        } catch (IOException | RuntimeException e) {
            s.close(true);
            throw e;
        }
    }
}
