package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
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
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * Digests over HTTP, with Apache HttpClient 5, on local disk (alice) and S3 through
 * S3Proxy (carol), the ledger on SQLite: Repr-Digest on GET and HEAD of /files and /dav,
 * Digest when Want-Digest asks for SHA-256, and PUTs with a Content-MD5 or Repr-Digest
 * checked before the commit: a mismatch answers 400, stores nothing, keeps the file it
 * would have replaced and counts one failed upload with its bytes.
 */
class HttpDigestTest {
    private static final int PART = 5 * 1024 * 1024;
    private static final S3ProxyFixture S3 = S3ProxyFixture.sharedInMemory();

    @TempDir
    static Path root;
    static String bucket;
    static Storage s3Storage;
    static JdbcLedger ledger;
    static TransferMeter meter;
    static HttpFrontEnd frontEnd;
    static InetSocketAddress address;

    private CloseableHttpClient client;
    private String user;

    record Resp(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.get(name.toLowerCase());
        }
    }

    @BeforeAll
    static void start() throws Exception {
        bucket = "w-" + UUID.randomUUID().toString().substring(0, 12);
        S3.createBucket(bucket);
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                data-dir: '%s'
                http:
                  host: 127.0.0.1
                  port: 0
                storage:
                  backends:
                    - {name: local, type: local, root: '%s'}
                    - {name: s3, type: s3, bucket: %s, endpoint: '%s', path-style: true, region: us-east-1,
                       access-key: %s, secret-key: %s}
                users:
                  - {name: alice, password: secret}
                  - {name: carol, password: secret, backend: s3}
                """.formatted(root.resolve("data"), root.resolve("files"), bucket, S3.endpoint(), S3.accessKey(),
                S3.secretKey()));
        Storage local = new LocalStorage("local", Files.createDirectories(root.resolve("files")));
        S3BackendConfig cfg = S3.backend("s3", bucket, "");
        MemoryBudget budget = new MemoryBudget(4L * PART);
        s3Storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)),
                budget);
        ledger = JdbcLedger.open("jdbc:sqlite:" + root.resolve("ledger.db"), Clock.systemUTC());
        meter = new TransferMeter(ledger);
        Accounts accounts = new Accounts(config, Map.of("local", local, "s3", s3Storage), meter);
        frontEnd = new HttpFrontEnd(config.http(), config.limits(), accounts, () -> "").withWebDav(true);
        address = frontEnd.start();
    }

    @AfterAll
    static void stop() throws IOException {
        frontEnd.close();
        s3Storage.close();
        ledger.close();
        S3.deleteBucket(bucket);
    }

    @BeforeEach
    void client() {
        client = HttpClients.createDefault();
    }

    @AfterEach
    void closeClient() throws IOException {
        client.close();
    }

    private Resp call(String method, String path, HttpEntity entity, String... headers) throws IOException {
        HttpUriRequestBase req = new HttpUriRequestBase(method,
                java.net.URI.create("http://127.0.0.1:" + address.getPort() + path));
        req.setHeader("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":secret").getBytes(StandardCharsets.UTF_8)));
        for (int i = 0; i < headers.length; i += 2) {
            req.addHeader(headers[i], headers[i + 1]);
        }
        req.setEntity(entity);
        return client.execute(req, r -> {
            Map<String, String> h = new TreeMap<>();
            for (Header x : r.getHeaders()) {
                h.put(x.getName().toLowerCase(), x.getValue());
            }
            byte[] body = r.getEntity() == null ? new byte[0] : EntityUtils.toByteArray(r.getEntity());
            return new Resp(r.getCode(), h, body);
        });
    }

    private Resp put(String path, byte[] content, String... headers) throws IOException {
        return call("PUT", path, new ByteArrayEntity(content, ContentType.APPLICATION_OCTET_STREAM), headers);
    }

    /** Without a Content-Length: the body goes chunked, into a multipart upload on S3. */
    private Resp putChunked(String path, byte[] content, String... headers) throws IOException {
        return call("PUT", path, new InputStreamEntity(new ByteArrayInputStream(content), -1, ContentType.APPLICATION_OCTET_STREAM),
                headers);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String b64(String algorithm, byte[] content) throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance(algorithm).digest(content));
    }

    private Counters totals() {
        return meter.statistics(u -> true).transferredByUser().getOrDefault(user, Counters.ZERO);
    }

    private StoredTotals stored() {
        return meter.statistics(u -> true).storedByUser().getOrDefault(user, StoredTotals.ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void getAndHeadTellTheSha256RecordedAtTheUpload(String who) throws Exception {
        user = who;
        byte[] data = random(PART + 1234, 1);
        assertEquals(201, putChunked("/files/a.bin", data).status());
        String repr = "sha-256=:" + b64("SHA-256", data) + ":";

        Resp get = call("GET", "/files/a.bin", null);
        assertEquals(200, get.status());
        assertArrayEquals(data, get.body());
        assertEquals(repr, get.header("Repr-Digest"));
        assertNull(get.header("Digest"), "not asked for");
        Resp head = call("HEAD", "/files/a.bin", null, "Want-Digest", "SHA-256;q=0.3, MD5;q=1");
        assertEquals(repr, head.header("Repr-Digest"));
        assertEquals("SHA-256=" + b64("SHA-256", data), head.header("Digest"));
        assertNull(call("HEAD", "/files/a.bin", null, "Want-Digest", "MD5").header("Digest"));
        assertNull(call("HEAD", "/files/a.bin", null, "Want-Digest", "sha-256;q=0").header("Digest"));
        Resp range = call("GET", "/files/a.bin", null, "Range", "bytes=10-19", "Want-Digest", "sha-256");
        assertEquals(206, range.status());
        assertEquals(repr, range.header("Repr-Digest"), "the whole file's, in a 206 too");
        Resp dav = call("GET", "/dav/a.bin", null, "Want-Digest", "SHA-256");
        assertArrayEquals(data, dav.body());
        assertEquals(repr, dav.header("Repr-Digest"));
        assertEquals("SHA-256=" + b64("SHA-256", data), dav.header("Digest"));
        assertEquals(repr, call("HEAD", "/dav/a.bin", null).header("Repr-Digest"));

        // Written through WebDAV with a Content-Length (one PutObject on S3): the same.
        byte[] small = random(1000, 2);
        assertEquals(201, put("/dav/b.bin", small).status());
        assertEquals("sha-256=:" + b64("SHA-256", small) + ":", call("HEAD", "/files/b.bin", null).header("Repr-Digest"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void announcedDigestsThatMatchAreAccepted(String who) throws Exception {
        user = who;
        byte[] data = random(PART + 99, 3);
        assertEquals(201, put("/files/m.bin", data, "Content-MD5", b64("MD5", data)).status());
        assertEquals(200, putChunked("/files/m.bin", data, "Repr-Digest", "sha-256=:" + b64("SHA-256", data) + ":").status());
        assertEquals(200, put("/files/m.bin", data, "Repr-Digest",
                "unixsum=:AAAA:, sha-512=:" + b64("SHA-512", data) + ":", "Repr-Digest", "md5=:" + b64("MD5", data) + ":").status());
        assertEquals(204, put("/dav/m.bin", data, "Content-MD5", b64("MD5", data)).status());
        assertArrayEquals(data, call("GET", "/files/m.bin", null).body());
        assertEquals("sha-256=:" + b64("SHA-256", data) + ":", call("HEAD", "/files/m.bin", null).header("Repr-Digest"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void aBodyUnlikeItsDigestIs400AndStoresNothing(String who) throws Exception {
        user = who;
        byte[] old = random(500, 4);
        assertEquals(201, put("/files/keep.bin", old).status());
        Counters before = totals();
        StoredTotals storedBefore = stored();
        byte[] data = random(PART + 10, 5);
        byte[] other = random(10, 6);

        Resp md5 = put("/files/keep.bin", data, "Content-MD5", b64("MD5", other));
        assertEquals(400, md5.status(), md5.text());
        assertTrue(md5.text().contains("\"error\":\"digest_mismatch\""), md5.text());
        Resp sha = putChunked("/files/new.bin", data, "Repr-Digest", "sha-256=:" + b64("SHA-256", other) + ":");
        assertEquals(400, sha.status(), sha.text());
        assertTrue(sha.text().contains("\"error\":\"digest_mismatch\""), sha.text());
        // One good digest and one bad: refused.
        Resp mixed = put("/files/new.bin", data, "Content-MD5", b64("MD5", data),
                "Repr-Digest", "sha-256=:" + b64("SHA-256", other) + ":");
        assertEquals(400, mixed.status(), mixed.text());
        Resp dav = put("/dav/new.bin", data, "Content-MD5", b64("MD5", other));
        assertEquals(400, dav.status(), dav.text());

        assertArrayEquals(old, call("GET", "/files/keep.bin", null).body(), "the file it would replace is intact");
        assertEquals(404, call("GET", "/files/new.bin", null).status());
        assertEquals("sha-256=:" + b64("SHA-256", old) + ":", call("HEAD", "/files/keep.bin", null).header("Repr-Digest"));
        // Four failed uploads with every byte received, once; the two GETs of keep.bin's 500 bytes (one failed 404).
        assertEquals(new Counters(before.bytesIn() + 4L * data.length, before.bytesOut() + old.length, before.filesIn(),
                before.filesOut() + 1, before.failedIn() + 4, before.failedOut()), totals());
        assertEquals(storedBefore, stored());
        assertEquals(List.of(), meter.active());
    }

    @ParameterizedTest
    @ValueSource(strings = {"alice", "carol"})
    void aDigestThatCannotBeCheckedIs400BeforeTheUpload(String who) throws Exception {
        user = who;
        Counters before = totals();
        byte[] data = random(1000, 7);
        for (String[] header : List.of(
                new String[] {"Repr-Digest", "unixsum=:AAAA:"},
                new String[] {"Repr-Digest", "sha-256=:not*base64:"},
                new String[] {"Repr-Digest", "sha-256=" + b64("SHA-256", data)},
                new String[] {"Repr-Digest", "sha-256=:" + b64("MD5", data) + ":"},
                new String[] {"Content-MD5", "nonsense"})) {
            Resp r = put("/files/x.bin", data, header);
            assertEquals(400, r.status(), header[1]);
            assertTrue(r.text().contains("\"error\":\"bad_request\""), r.text());
        }
        assertEquals(404, call("GET", "/files/x.bin", null).status());
        assertEquals(before.filesIn(), totals().filesIn());
        assertEquals(before.failedIn(), totals().failedIn(), "refused before any upload began");
    }
}
