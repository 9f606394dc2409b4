package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.testing.CountingRelay;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * FTP APPE and REST + STOR, and an SFTP write opened for append, over S3 through the whole
 * gateway: the stored object is continued by a server-side copy, so almost nothing comes back from S3 (counted by a
 * relay in front of S3Proxy); only the client's bytes count as transferred, and the
 * stored totals move by the change in size.
 */
class AppendOverS3Test {
    private static final String BUCKET = "gateway-append";
    private static final int MIB = 1024 * 1024;
    /** The HEADs, listings, copies and completes of one append answer far less than this. */
    private static final long REQUEST_OVERHEAD = 64 * 1024;
    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static S3Client s3client;
    static CountingRelay relay;
    static Gateway gateway;
    static URI http;
    static final ObjectMapper json = new ObjectMapper();

    static SshClient ssh;

    CloseableHttpClient httpClient;
    FTPClient ftp;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
        relay = new CountingRelay(s3.endpoint());
        GatewayConfig config = new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                data-dir: %s
                ftp:
                  port: 0
                  passive-ports: 52300-52400
                http:
                  port: 0
                sftp:
                  port: 0
                storage:
                  part-size: 5MiB
                  backends:
                    - name: archive
                      type: s3
                      bucket: %s
                      prefix: gw/
                      endpoint: %s
                      path-style: true
                      access-key: ${S3_ACCESS_KEY}
                      secret-key: ${S3_SECRET_KEY}
                      checksums: when-required
                users:
                  - {name: alice, password: secret, backend: archive}
                  - {name: root, password: toor, admin: true, backend: archive}
                ledger:
                  url: %s
                """.formatted(data.resolve("data"), BUCKET, relay.endpoint(), data.resolve("ledger")));
        gateway = Gateway.start(config);
        http = URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort());
        ssh = SshClient.setUpDefaultClient();
        ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        ssh.start();
    }

    @AfterAll
    static void stop() throws IOException {
        if (ssh != null) {
            ssh.stop();
        }
        if (gateway != null) {
            gateway.close();
        }
        relay.close();
    }

    @BeforeEach
    void clients() throws IOException {
        httpClient = HttpClients.createDefault();
        ftp = new FTPClient();
        ftp.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(ftp.login("alice", "secret"));
        ftp.enterLocalPassiveMode();
        ftp.setFileType(FTP.BINARY_FILE_TYPE);
    }

    @AfterEach
    void closeClients() throws IOException {
        httpClient.close();
        if (ftp.isConnected()) {
            ftp.disconnect();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[] a, int aLength, byte[] b) {
        byte[] all = new byte[aLength + b.length];
        System.arraycopy(a, 0, all, 0, aLength);
        System.arraycopy(b, 0, all, aLength, b.length);
        return all;
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private static byte[] object(String key) {
        return s3client.getObjectAsBytes(g -> g.bucket(BUCKET).key("gw/alice/" + key)).asByteArray();
    }

    private static int openMultipartUploads() {
        return s3client.listMultipartUploads(b -> b.bucket(BUCKET)).uploads().size();
    }

    private JsonNode stats() throws IOException {
        HttpGet get = new HttpGet(http.resolve("/api/stats"));
        get.setHeader("Authorization", "Basic " + Base64.getEncoder().encodeToString("root:toor".getBytes(StandardCharsets.UTF_8)));
        return httpClient.execute(get, r -> json.readTree(EntityUtils.toString(r.getEntity())));
    }

    /** The totals once no transfer is running any more (a failed one ends after its reply). */
    private JsonNode settledStats() throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        JsonNode s = stats();
        while (s.path("active").size() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            s = stats();
        }
        assertEquals(0, s.path("active").size(), s.path("active").toString());
        return s;
    }

    private static long ftp(JsonNode s, String name) {
        return protocol(s, "ftp", name);
    }

    private static long protocol(JsonNode s, String protocol, String name) {
        return s.path("transferred").path("byProtocol").path(protocol).path(name).asLong();
    }

    private static long stored(JsonNode s, String name) {
        return s.path("stored").path("byUser").path("alice").path(name).asLong();
    }

    /** Exactly {@code bytes} more from the client in one completed FTP upload, the stored size up by {@code grown}. */
    private static void assertCounted(JsonNode before, JsonNode after, long bytes, long grown) {
        assertEquals(ftp(before, "bytesIn") + bytes, ftp(after, "bytesIn"), "only the client's bytes are transferred");
        assertEquals(ftp(before, "filesIn") + 1, ftp(after, "filesIn"));
        assertEquals(ftp(before, "failedIn"), ftp(after, "failedIn"));
        assertEquals(stored(before, "bytes") + grown, stored(after, "bytes"));
        assertEquals(stored(before, "objects"), stored(after, "objects"), "the same object, continued");
    }

    @Test
    void appeAddsOneMibToATwelveMibObjectWithoutReadingItBack() throws Exception {
        byte[] stored = random(12 * MIB, 1);
        byte[] tail = random(MIB, 2);
        assertTrue(ftp.storeFile("/appe.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
        JsonNode before = settledStats();
        relay.reset();
        assertTrue(ftp.appendFile("/appe.bin", new ByteArrayInputStream(tail)), ftp.getReplyString());
        assertEquals("226 Transfer complete: " + MIB + " bytes appended to appe.bin", ftp.getReplyString().trim());
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertTrue(relay.toServer() < MIB + REQUEST_OVERHEAD, relay.toServer() + " bytes went to S3");
        assertArrayEquals(sha256(concat(stored, stored.length, tail)), sha256(object("appe.bin")));
        assertEquals(13L * MIB, ftp.mlistFile("/appe.bin").getSize());
        assertCounted(before, settledStats(), MIB, MIB);
        assertEquals(0, openMultipartUploads());
    }

    @Test
    void anSftpWriteOpenedForAppendContinuesTheObjectWithoutReadingItBack() throws Exception {
        byte[] stored = random(6 * MIB, 20);
        byte[] tail = random(MIB + 17, 21);
        assertTrue(ftp.storeFile("/sftp.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
        JsonNode before = settledStats();
        relay.reset();
        try (ClientSession s = ssh.connect("alice", "127.0.0.1", gateway.sftpAddress().getPort())
                .verify(Duration.ofSeconds(10)).getClientSession()) {
            s.addPasswordIdentity("secret");
            s.auth().verify(Duration.ofSeconds(10));
            try (SftpClient c = SftpClientFactory.instance().createSftpClient(s);
                 OutputStream out = c.write("/sftp.bin", SftpClient.OpenMode.Write, SftpClient.OpenMode.Append)) {
                out.write(tail);
            }
        }
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertArrayEquals(sha256(concat(stored, stored.length, tail)), sha256(object("sftp.bin")));
        JsonNode after = settledStats();
        assertEquals(protocol(before, "sftp", "bytesIn") + tail.length, protocol(after, "sftp", "bytesIn"));
        assertEquals(protocol(before, "sftp", "filesIn") + 1, protocol(after, "sftp", "filesIn"));
        assertEquals(stored(before, "bytes") + tail.length, stored(after, "bytes"));
        assertEquals(stored(before, "objects"), stored(after, "objects"));
        assertEquals(0, openMultipartUploads());
    }

    @Test
    void restAtTheSizeThenStorContinuesAndRestBelowItCutsTheRestOff() throws Exception {
        byte[] stored = random(6 * MIB, 3);
        byte[] more = random(2 * MIB + 5, 4);
        assertTrue(ftp.storeFile("/rest.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
        JsonNode before = settledStats();
        relay.reset();
        ftp.setRestartOffset(stored.length);
        assertTrue(ftp.storeFile("/rest.bin", new ByteArrayInputStream(more)), ftp.getReplyString());
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        byte[] resumed = concat(stored, stored.length, more);
        assertArrayEquals(sha256(resumed), sha256(object("rest.bin")));
        JsonNode afterResume = settledStats();
        assertCounted(before, afterResume, more.length, more.length);

        // REST inside the file: what lay after the offset is replaced by what comes.
        int offset = 5 * MIB + 3;
        byte[] last = random(1000, 5);
        relay.reset();
        ftp.setRestartOffset(offset);
        assertTrue(ftp.storeFile("/rest.bin", new ByteArrayInputStream(last)), ftp.getReplyString());
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertArrayEquals(sha256(concat(resumed, offset, last)), sha256(object("rest.bin")));
        assertCounted(afterResume, settledStats(), last.length, offset + last.length - resumed.length);
        assertEquals(0, openMultipartUploads());
    }

    @Test
    void anAppeShorterThanAnnouncedFailsAndLeavesTheObjectAsItWas() throws Exception {
        byte[] stored = random(12 * MIB, 6);
        byte[] tail = random(6 * MIB, 7); // over one part: a part of new bytes is sent before the end
        assertTrue(ftp.storeFile("/cut.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
        JsonNode before = settledStats();
        assertTrue(ftp.allocate(stored.length + tail.length + 1), ftp.getReplyString());
        try (OutputStream out = ftp.appendFileStream("/cut.bin")) {
            out.write(tail);
        }
        assertFalse(ftp.completePendingCommand(), "the short append was confirmed");
        assertEquals(426, ftp.getReplyCode(), ftp.getReplyString());
        JsonNode after = settledStats();
        assertArrayEquals(sha256(stored), sha256(object("cut.bin")), "the object changed");
        assertEquals(0, openMultipartUploads(), "a multipart upload was left open");
        assertEquals(ftp(before, "bytesIn") + tail.length, ftp(after, "bytesIn"));
        assertEquals(ftp(before, "failedIn") + 1, ftp(after, "failedIn"));
        assertEquals(ftp(before, "filesIn"), ftp(after, "filesIn"));
        assertEquals(stored(before, "bytes"), stored(after, "bytes"));
    }

    @Test
    void anAppeOntoAnObjectChangedBehindTheGatewayFailsWithoutMixingVersions() throws Exception {
        byte[] stored = random(8 * MIB, 8);
        assertTrue(ftp.storeFile("/raced.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
        JsonNode before = settledStats();
        OutputStream out = ftp.appendFileStream("/raced.bin");
        // Replaced by another writer of the bucket after the APPE measured it, before its bytes.
        byte[] replacement = random(8 * MIB, 9);
        s3client.putObject(b -> b.bucket(BUCKET).key("gw/alice/raced.bin"), RequestBody.fromBytes(replacement));
        try (out) {
            out.write(random(1000, 10));
        }
        assertFalse(ftp.completePendingCommand(), "an append onto another version was confirmed");
        // A conflict, as when the file changed under the copy-through append: the client may APPE again.
        assertEquals("550 APPE: /raced.bin: the file to continue changed since the upload began", ftp.getReplyString().trim());
        JsonNode after = settledStats();
        assertArrayEquals(sha256(replacement), sha256(object("raced.bin")));
        assertEquals(0, openMultipartUploads());
        assertEquals(ftp(before, "failedIn") + 1, ftp(after, "failedIn"));
        assertEquals(stored(before, "bytes"), stored(after, "bytes"));
    }
}
