package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPSClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * FTPS with commons-net's FTPSClient: explicit (AUTH TLS on the normal port, here with
 * ftp.require-tls) and implicit (TLS from the first byte), each round-tripping exact bytes
 * over protected data connections; and what require-tls refuses.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FtpsTest {
    @TempDir
    static Path dir;
    static TlsFixture tls;
    static Gateway explicit;
    static Gateway implicit;

    @BeforeAll
    static void start() throws Exception {
        tls = TlsFixture.create(dir);
        explicit = start("explicit", true, "54710-54730");
        implicit = start("implicit", false, "54731-54750");
    }

    private static Gateway start(String mode, boolean requireTls, String passivePorts) throws Exception {
        Path root = dir.resolve(mode);
        return Gateway.start(new ConfigLoader(Map.of()).parse("""
                tls: {certificate: %s, private-key: %s}
                ftp: {port: 0, passive-ports: %s, tls: %s, require-tls: %s}
                http: {enabled: false}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: pw}]
                ledger: {url: %s}
                """.formatted(tls.cert(), tls.key(), passivePorts, mode, requireTls, root.resolve("files"),
                root.resolve("ledger"))));
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

    private static FTPSClient ftps(boolean isImplicit, Gateway gateway) throws Exception {
        FTPSClient c = new FTPSClient(isImplicit);
        c.setTrustManager(tls.trustManager());
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(c.login("alice", "pw"), c.getReplyString());
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    private static void roundTrip(FTPSClient c, String mode) throws Exception {
        c.execPBSZ(0);
        c.execPROT("P");
        assertEquals(200, c.getReplyCode(), c.getReplyString());
        byte[] content = new byte[300_000];
        new Random(7).nextBytes(content);
        assertTrue(c.storeFile("secret.bin", new ByteArrayInputStream(content)), c.getReplyString());
        assertEquals(226, c.getReplyCode());
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        assertTrue(c.retrieveFile("secret.bin", back), c.getReplyString());
        assertArrayEquals(content, back.toByteArray());
        assertArrayEquals(content, Files.readAllBytes(dir.resolve(mode + "/files/alice/secret.bin")));
    }

    @Test
    void explicitFtpsUploadsAndDownloadsExactBytesOverProtectedDataConnections() throws Exception {
        FTPSClient c = ftps(false, explicit);
        assertEquals(211, c.sendCommand("FEAT"));
        assertTrue(c.getReplyString().contains(" AUTH TLS"), c.getReplyString());
        roundTrip(c, "explicit");
        c.logout();
        c.disconnect();
    }

    @Test
    void implicitFtpsUploadsAndDownloadsExactBytesOverProtectedDataConnections() throws Exception {
        FTPSClient c = ftps(true, implicit);
        roundTrip(c, "implicit");
        c.logout();
        c.disconnect();
    }

    @Test
    void requireTlsRefusesAPlainLogin() throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", explicit.ftpAddress().getPort());
        assertFalse(c.login("alice", "pw"));
        assertEquals(530, c.getReplyCode(), c.getReplyString());
        c.disconnect();
    }

    @Test
    void requireTlsRefusesUnprotectedDataConnections() throws Exception {
        FTPSClient c = ftps(false, explicit);
        c.execPBSZ(0);
        c.execPROT("C");
        assertFalse(c.storeFile("clear.bin", new ByteArrayInputStream("in the clear".getBytes())));
        assertEquals(521, c.getReplyCode(), c.getReplyString());
        assertFalse(Files.exists(dir.resolve("explicit/files/alice/clear.bin")));
        // The session goes on: with PROT P the same upload works.
        c.execPROT("P");
        assertTrue(c.storeFile("clear.bin", new ByteArrayInputStream("protected".getBytes())), c.getReplyString());
        c.disconnect();
    }
}
