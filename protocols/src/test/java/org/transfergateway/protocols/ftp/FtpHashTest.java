package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * FTP HASH (draft-bryan-ftpext-hash-02), OPTS HASH, FEAT's HASH line and XSHA256, XSHA1,
 * XMD5, XCRC, driven by commons-net's FTPClient over local disk (alice) and S3 through
 * S3Proxy (carol): exact replies against the JDK's digests of the bytes sent, SHA-256 from
 * the ledger (SQLite), the rest and appended files read without counting a download.
 */
class FtpHashTest {
    private static final int PART = 5 * 1024 * 1024;

    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;
    static JdbcLedger ledger;
    static Storage s3Storage;
    static String bucket;
    static final S3ProxyFixture S3 = S3ProxyFixture.sharedInMemory();

    FTPClient client;

    @BeforeAll
    static void start() throws Exception {
        bucket = "h-" + UUID.randomUUID().toString().substring(0, 12);
        S3.createBucket(bucket);
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp:
                  port: 0
                  passive-ports: 51200-51300
                storage:
                  backends:
                    - {name: local, type: local, root: '%s'}
                    - {name: s3, type: s3, bucket: %s, endpoint: '%s', path-style: true, region: us-east-1,
                       access-key: %s, secret-key: %s}
                users:
                  - {name: alice, password: secret}
                  - {name: carol, password: secret, backend: s3}
                """.formatted(root.resolve("files"), bucket, S3.endpoint(), S3.accessKey(), S3.secretKey()));
        Storage local = new LocalStorage("local", Files.createDirectories(root.resolve("files")));
        S3BackendConfig cfg = S3.backend("s3", bucket, "");
        MemoryBudget budget = new MemoryBudget(4L * PART);
        s3Storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)),
                budget);
        ledger = JdbcLedger.open("jdbc:sqlite:" + root.resolve("ledger.db"), Clock.systemUTC());
        meter = new TransferMeter(ledger);
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), new Accounts(config, Map.of("local", local, "s3", s3Storage), meter));
        port = ftp.start().getPort();
    }

    @AfterAll
    static void stop() throws IOException {
        ftp.close();
        s3Storage.close();
        ledger.close();
        S3.deleteBucket(bucket);
    }

    @AfterEach
    void logout() throws IOException {
        if (client != null && client.isConnected()) {
            client.disconnect();
        }
    }

    private FTPClient login(String user) throws IOException {
        client = new FTPClient();
        client.setControlEncoding("UTF-8");
        client.connect("127.0.0.1", port);
        assertTrue(client.login(user, "secret"), client.getReplyString());
        client.enterLocalPassiveMode();
        assertTrue(client.setFileType(FTP.BINARY_FILE_TYPE));
        return client;
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String hex(String algorithm, byte[] content) throws Exception {
        if (algorithm.equals("CRC32")) {
            CRC32 crc = new CRC32();
            crc.update(content);
            return String.format("%08x", crc.getValue());
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(content));
    }

    private String reply(String command, String arg) throws IOException {
        client.sendCommand(command, arg);
        return client.getReplyString().trim();
    }

    private static Counters totals(String user) {
        return meter.statistics(u -> true).transferredByUser().getOrDefault(user, Counters.ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void hashAnswersEachAlgorithmExactlyAndCountsNoDownload(String user) throws Exception {
        login(user);
        byte[] data = random(PART + 4321, 1); // two parts on S3
        assertTrue(client.storeFile("/my file.bin", new ByteArrayInputStream(data)), client.getReplyString());
        Counters before = totals(user);

        assertEquals(211, client.sendCommand("FEAT"));
        assertTrue(client.getReplyString().contains("\n HASH SHA-256*;SHA-1;MD5;CRC32\r\n"), client.getReplyString());
        assertEquals("200 SHA-256", reply("OPTS", "HASH"));
        String range = "0-" + (data.length - 1);
        assertEquals("213 SHA-256 " + range + " " + hex("SHA-256", data) + " my file.bin", reply("HASH", "my file.bin"));
        assertEquals("213 SHA-256 " + range + " " + hex("SHA-256", data) + " /my file.bin", reply("HASH", "/my file.bin"));

        for (String algorithm : List.of("SHA-1", "MD5", "CRC32")) {
            assertEquals("200 " + algorithm, reply("OPTS", "HASH " + algorithm.toLowerCase()));
            assertEquals(211, client.sendCommand("FEAT"));
            assertTrue(client.getReplyString().contains(" HASH SHA-256;" + "SHA-1;MD5;CRC32".replace(algorithm, algorithm + "*")),
                    client.getReplyString());
            assertEquals("213 " + algorithm + " " + range + " " + hex(algorithm, data) + " my file.bin", reply("HASH", "my file.bin"));
        }
        assertEquals(504, client.sendCommand("OPTS", "HASH SHA-512"));
        assertEquals(504, client.sendCommand("OPTS", "HASH BOGUS"));
        assertEquals("200 CRC32", reply("OPTS", "HASH"), "an unknown algorithm leaves the selection");
        assertEquals(200, client.sendCommand("OPTS", "UTF8 ON"), "the other options still answer");

        assertEquals("250 " + hex("SHA-256", data), reply("XSHA256", "my file.bin"));
        assertEquals("250 " + hex("SHA-1", data), reply("XSHA1", "my file.bin"));
        assertEquals("250 " + hex("MD5", data), reply("XMD5", "my file.bin"));
        assertEquals("250 " + hex("CRC32", data), reply("XCRC", "my file.bin"));
        assertEquals(502, client.sendCommand("SHA256", "my file.bin"), "only with its X");
        assertEquals(before, totals(user), "digests are no downloads");
        assertEquals(List.of(), meter.active());
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void missingFilesAndFoldersAnswer550(String user) throws Exception {
        login(user);
        assertTrue(client.makeDirectory("/dir"), client.getReplyString());
        assertEquals(550, client.sendCommand("HASH", "nothing.bin"));
        assertEquals(550, client.sendCommand("HASH", "dir"));
        assertEquals(550, client.sendCommand("HASH", "/"));
        assertEquals(550, client.sendCommand("XSHA256", "nothing.bin"));
        assertEquals(550, client.sendCommand("XMD5", "dir"));
        assertEquals(501, client.sendCommand("HASH"));
        assertEquals(553, client.sendCommand("HASH", "../alice/x"), "a bad path, as everywhere");
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void anAppendedFileIsHashedWhole(String user) throws Exception {
        login(user);
        byte[] first = random(100_000, 2);
        byte[] more = random(50_000, 3);
        assertTrue(client.storeFile("log.bin", new ByteArrayInputStream(first)), client.getReplyString());
        assertTrue(client.appendFile("log.bin", new ByteArrayInputStream(more)), client.getReplyString());
        byte[] whole = new byte[first.length + more.length];
        System.arraycopy(first, 0, whole, 0, first.length);
        System.arraycopy(more, 0, whole, first.length, more.length);
        String key = user + "/log.bin";
        assertNull(ledger.digest(user.equals("alice") ? "local" : "s3", key), "an append records no digest");
        assertEquals("213 SHA-256 0-" + (whole.length - 1) + " " + hex("SHA-256", whole) + " log.bin", reply("HASH", "log.bin"));
        // An empty file: the range is 0-0.
        assertTrue(client.storeFile("empty.bin", new ByteArrayInputStream(new byte[0])), client.getReplyString());
        assertEquals("213 SHA-256 0-0 " + hex("SHA-256", new byte[0]) + " empty.bin", reply("HASH", "empty.bin"));
    }
}
