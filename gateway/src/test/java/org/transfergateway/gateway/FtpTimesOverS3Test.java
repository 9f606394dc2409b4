package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Map;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * MFMT per backend: a user on local disk is offered MFMT and gets the time kept; a user
 * on S3, where an object's LastModified is the time of its upload and listings show
 * nothing else, is not offered it, and MFMT answers 502 without touching the object.
 * MLSD of a missing folder answers 550 at once on S3 too.
 */
class FtpTimesOverS3Test {
    static final String BUCKET = "gateway-times";
    @TempDir
    static Path data;
    static Gateway gateway;
    static int ftpPort;

    @BeforeAll
    static void start() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        GatewayConfig config = new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                ftp: {port: 0, passive-ports: 54400-54420}
                http: {port: 0}
                storage:
                  backends:
                    - {name: archive, type: s3, bucket: %s, endpoint: %s, path-style: true,
                       access-key: "${S3_ACCESS_KEY}", secret-key: "${S3_SECRET_KEY}", checksums: when-required}
                    - {name: local, type: local, root: %s}
                users:
                  - {name: alice, password: secret, backend: archive}
                  - {name: bob, password: hunter2, backend: local}
                ledger: {url: %s}
                """.formatted(BUCKET, s3.endpoint(), data.resolve("files"), data.resolve("ledger")));
        gateway = Gateway.start(config);
        ftpPort = gateway.ftpAddress().getPort();
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static FTPClient login(String user, String password) throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", ftpPort);
        assertTrue(c.login(user, password));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        assertTrue(c.storeFile("t.txt", new ByteArrayInputStream("time".getBytes())), c.getReplyString());
        return c;
    }

    @Test
    void mfmtIsOfferedWhereTheBackendKeepsTimes() throws Exception {
        FTPClient bob = login("bob", "hunter2");
        try {
            assertTrue(bob.features());
            assertTrue(bob.hasFeature("MFMT"), bob.getReplyString());
            assertEquals(213, bob.sendCommand("MFMT", "20190807060504 t.txt"), bob.getReplyString());
            assertEquals("20190807060504", bob.getModificationTime("t.txt").substring(0, 14));
        } finally {
            bob.disconnect();
        }
        FTPClient alice = login("alice", "secret");
        try {
            assertTrue(alice.features());
            assertFalse(alice.hasFeature("MFMT"), alice.getReplyString());
            String before = alice.getModificationTime("t.txt");
            assertEquals(502, alice.sendCommand("MFMT", "20190807060504 t.txt"), alice.getReplyString());
            assertEquals(before, alice.getModificationTime("t.txt"));
            assertEquals(0, alice.mlistDir("no/such/folder").length);
            assertEquals(550, alice.getReplyCode(), alice.getReplyString());
        } finally {
            alice.disconnect();
        }
    }
}
