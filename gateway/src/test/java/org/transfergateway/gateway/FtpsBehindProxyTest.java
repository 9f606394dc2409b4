package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.SocketFactory;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPSClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Implicit and explicit FTPS with listeners.proxy-protocol: the PROXY header comes before
 * the TLS handshake (implicit) or before the greeting (explicit), and the protected data
 * connections, which carry no header, still work.
 */
class FtpsBehindProxyTest {
    @TempDir
    static Path dir;
    static TlsFixture tls;
    static Gateway explicit;
    static Gateway implicit;

    @BeforeAll
    static void start() throws Exception {
        tls = TlsFixture.create(dir);
        explicit = start("explicit", "52740-52750");
        implicit = start("implicit", "52751-52760");
    }

    private static Gateway start(String mode, String passivePorts) throws Exception {
        Path root = dir.resolve(mode);
        return Gateway.start(new ConfigLoader(Map.of()).parse("""
                tls: {certificate: %s, private-key: %s}
                ftp: {port: 0, passive-ports: %s, tls: %s}
                http: {enabled: false}
                listeners: {proxy-protocol: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: pw}]
                ledger: {url: %s}
                """.formatted(tls.cert(), tls.key(), passivePorts, mode, root.resolve("files"), root.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (explicit != null) {
            explicit.close();
        }
        if (implicit != null) {
            implicit.close();
        }
    }

    @Test
    void implicitFtpsAfterAProxyHeaderKeepsEveryByte() throws Exception {
        roundTrip(true, implicit, "implicit");
    }

    @Test
    void explicitFtpsAfterAProxyHeaderKeepsEveryByte() throws Exception {
        roundTrip(false, explicit, "explicit");
    }

    private static void roundTrip(boolean isImplicit, Gateway gateway, String mode) throws Exception {
        FTPSClient c = new FTPSClient(isImplicit);
        c.setTrustManager(tls.trustManager());
        c.setSocketFactory(new HeaderFirst());
        c.setDefaultTimeout(10_000);
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        if (!isImplicit) {
            c.execAUTH("TLS");
        }
        assertTrue(c.login("alice", "pw"), c.getReplyString());
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        c.execPBSZ(0);
        c.execPROT("P");
        assertEquals(200, c.getReplyCode(), c.getReplyString());
        byte[] content = new byte[400_000];
        new Random(9).nextBytes(content);
        assertTrue(c.storeFile("secret.bin", new ByteArrayInputStream(content)), c.getReplyString());
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        assertTrue(c.retrieveFile("secret.bin", back), c.getReplyString());
        assertArrayEquals(content, back.toByteArray());
        c.logout();
        c.disconnect();
        assertArrayEquals(content, Files.readAllBytes(dir.resolve(mode + "/files/alice/secret.bin")));
    }

    /** Sockets whose first, the control connection, starts with a PROXY v1 header, as a balancer's would. */
    private static final class HeaderFirst extends SocketFactory {
        private final AtomicBoolean first = new AtomicBoolean(true);

        @Override
        public Socket createSocket() {
            boolean control = first.getAndSet(false);
            return new Socket() {
                @Override
                public void connect(SocketAddress endpoint, int timeout) throws IOException {
                    super.connect(endpoint, timeout);
                    if (control) {
                        getOutputStream().write("PROXY TCP4 127.0.0.1 127.0.0.1 40000 21\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                }
            };
        }

        @Override
        public Socket createSocket(String host, int port) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(String host, int port, java.net.InetAddress localHost, int localPort) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(java.net.InetAddress host, int port) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket createSocket(java.net.InetAddress address, int port, java.net.InetAddress localAddress, int localPort) {
            throw new UnsupportedOperationException();
        }
    }
}
