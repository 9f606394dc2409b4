package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.hc.client5.http.classic.methods.HttpDelete;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPut;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.testing.PatternStream;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The whole gateway on free ports over a real S3 server (S3Proxy): FTP and HTTP clients
 * upload, download, overwrite, delete, rename and list, an SDK S3Client checks what
 * reached the bucket, and the totals of /api/stats are checked after each step.
 */
class GatewayOverS3Test {
    static final String BUCKET = "gateway-it";
    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static S3Client s3client;
    static Gateway gateway;
    static int ftpPort;
    static URI http;
    static final ObjectMapper json = new ObjectMapper();

    CloseableHttpClient httpClient;
    FTPClient ftp;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
        GatewayConfig config = new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                ftp:
                  port: 0
                  passive-ports: 52000-52100
                http:
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
                    - name: local
                      type: local
                      root: %s
                users:
                  - {name: alice, password: secret, backend: archive}
                  - {name: root, password: toor, admin: true, backend: local}
                ledger:
                  url: %s
                """.formatted(BUCKET, s3.endpoint(), data.resolve("files"), data.resolve("ledger")));
        gateway = Gateway.start(config);
        ftpPort = gateway.ftpAddress().getPort();
        http = URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @BeforeEach
    void clients() throws IOException {
        httpClient = HttpClients.createDefault();
        ftp = new FTPClient();
        ftp.setControlEncoding("UTF-8");
        ftp.connect("127.0.0.1", ftpPort);
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

    // ---- helpers

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String encode(String path) {
        StringBuilder sb = new StringBuilder();
        for (String seg : path.split("/", -1)) {
            if (sb.length() > 0 || path.startsWith("/")) {
                sb.append('/');
            }
            sb.append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return sb.toString().replaceFirst("^//", "/");
    }

    private <T extends HttpUriRequestBase> T auth(T req, String user, String password) {
        req.setHeader("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
        return req;
    }

    private int put(String path, byte[] body) throws IOException {
        HttpPut put = auth(new HttpPut(http.resolve("/files" + encode(path))), "alice", "secret");
        put.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_OCTET_STREAM));
        return httpClient.execute(put, r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        });
    }

    private byte[] get(String path) throws IOException {
        return httpClient.execute(auth(new HttpGet(http.resolve("/files" + encode(path))), "alice", "secret"), r -> {
            assertEquals(200, r.getCode());
            return EntityUtils.toByteArray(r.getEntity());
        });
    }

    private JsonNode stats() throws IOException {
        return httpClient.execute(auth(new HttpGet(http.resolve("/api/stats")), "root", "toor"),
                r -> json.readTree(EntityUtils.toString(r.getEntity())));
    }

    private static byte[] object(String key) {
        ResponseBytes<GetObjectResponse> b = s3client.getObject(g -> g.bucket(BUCKET).key(key), ResponseTransformer.toBytes());
        return b.asByteArray();
    }

    private static boolean exists(String key) {
        try {
            s3client.headObject(h -> h.bucket(BUCKET).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    private static long aliceStoredBytes(JsonNode s) {
        return s.path("stored").path("byUser").path("alice").path("bytes").asLong();
    }

    private static long aliceStoredObjects(JsonNode s) {
        return s.path("stored").path("byUser").path("alice").path("objects").asLong();
    }

    private static long field(JsonNode s, String protocol, String name) {
        return s.path("transferred").path("byProtocol").path(protocol).path(name).asLong();
    }

    // ---- tests

    @Test
    void ftpUploadLandsInTheBucketUnderTheHomeAndDownloadsBack() throws IOException {
        byte[] data = random(700_000, 1);
        JsonNode before = stats();
        assertTrue(ftp.storeFile("/reports/q1.csv", new ByteArrayInputStream(data)), ftp.getReplyString());
        assertEquals(226, ftp.getReplyCode());
        assertArrayEquals(data, object("gw/alice/reports/q1.csv"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ftp.retrieveFile("/reports/q1.csv", out));
        assertArrayEquals(data, out.toByteArray());
        JsonNode after = stats();
        assertEquals(field(before, "ftp", "bytesIn") + data.length, field(after, "ftp", "bytesIn"));
        assertEquals(field(before, "ftp", "bytesOut") + data.length, field(after, "ftp", "bytesOut"));
        assertEquals(field(before, "ftp", "filesIn") + 1, field(after, "ftp", "filesIn"));
        assertEquals(aliceStoredBytes(before) + data.length, aliceStoredBytes(after));
        assertEquals(aliceStoredObjects(before) + 1, aliceStoredObjects(after));
    }

    @Test
    void httpPutLandsInTheBucketAndOverwriteCountsTheNewSizeOnly() throws IOException {
        JsonNode before = stats();
        assertEquals(201, put("/http/over.bin", random(10_000, 2)));
        assertEquals(200, put("/http/over.bin", random(3_000, 3)));
        assertArrayEquals(random(3_000, 3), object("gw/alice/http/over.bin"));
        assertArrayEquals(random(3_000, 3), get("/http/over.bin"));
        JsonNode after = stats();
        assertEquals(field(before, "http", "bytesIn") + 13_000, field(after, "http", "bytesIn"));
        assertEquals(field(before, "http", "filesIn") + 2, field(after, "http", "filesIn"));
        assertEquals(field(before, "http", "bytesOut") + 3_000, field(after, "http", "bytesOut"));
        assertEquals(aliceStoredBytes(before) + 3_000, aliceStoredBytes(after));
        assertEquals(aliceStoredObjects(before) + 1, aliceStoredObjects(after));
    }

    @Test
    void deleteOverFtpAndHttpRemovesTheObjectAndItsBytes() throws IOException {
        assertEquals(201, put("/del/a.bin", random(1234, 4)));
        assertEquals(201, put("/del/b.bin", random(4321, 5)));
        JsonNode before = stats();
        assertTrue(ftp.deleteFile("/del/a.bin"), ftp.getReplyString());
        int status = httpClient.execute(auth(new HttpDelete(http.resolve("/files/del/b.bin")), "alice", "secret"), r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        });
        assertEquals(204, status);
        assertFalse(exists("gw/alice/del/a.bin"));
        assertFalse(exists("gw/alice/del/b.bin"));
        JsonNode after = stats();
        assertEquals(aliceStoredBytes(before) - 1234 - 4321, aliceStoredBytes(after));
        assertEquals(aliceStoredObjects(before) - 2, aliceStoredObjects(after));
    }

    @Test
    void renameOverFtpMovesTheObject() throws IOException {
        assertEquals(201, put("/mv/from.txt", "moving".getBytes()));
        JsonNode before = stats();
        assertTrue(ftp.rename("/mv/from.txt", "/mv/to.txt"), ftp.getReplyString());
        assertFalse(exists("gw/alice/mv/from.txt"));
        assertArrayEquals("moving".getBytes(), object("gw/alice/mv/to.txt"));
        assertEquals(aliceStoredBytes(before), aliceStoredBytes(stats()));
    }

    @Test
    void listingShowsTheSameEntriesOverFtpAndHttp() throws IOException {
        assertEquals(201, put("/list/one.txt", "1".getBytes()));
        assertEquals(201, put("/list/sub/two.txt", "22".getBytes()));
        assertEquals(List.of("one.txt", "sub"), Arrays.stream(ftp.listNames("/list")).map(n -> n.replaceFirst(".*/", "")).sorted().toList());
        JsonNode listing = httpClient.execute(auth(new HttpGet(http.resolve("/files/list/")), "alice", "secret"),
                r -> json.readTree(EntityUtils.toString(r.getEntity())));
        assertEquals("/list/", listing.path("path").asText());
        assertEquals(2, listing.path("entries").size());
        assertEquals("one.txt", listing.path("entries").get(0).path("name").asText());
        assertEquals("file", listing.path("entries").get(0).path("type").asText());
        assertEquals(1, listing.path("entries").get(0).path("size").asLong());
        assertEquals("sub", listing.path("entries").get(1).path("name").asText());
        assertEquals("dir", listing.path("entries").get(1).path("type").asText());
    }

    @Test
    void aFolderJustMadeOverFtpCanBeEnteredAndFilled() throws IOException {
        assertTrue(ftp.makeDirectory("fresh"), ftp.getReplyString());
        assertTrue(ftp.changeWorkingDirectory("fresh"), ftp.getReplyString());
        assertTrue(ftp.storeFile("inside.txt", new ByteArrayInputStream("in".getBytes())), ftp.getReplyString());
        assertArrayEquals("in".getBytes(), object("gw/alice/fresh/inside.txt"));
        assertTrue(ftp.changeToParentDirectory());
        assertTrue(ftp.makeDirectory("empty-one"));
        assertTrue(ftp.removeDirectory("empty-one"), ftp.getReplyString());
    }

    @Test
    void emptyFilesAreObjectsOfZeroBytes() throws IOException {
        assertTrue(ftp.storeFile("/empty-ftp.bin", new ByteArrayInputStream(new byte[0])));
        assertEquals(201, put("/empty-http.bin", new byte[0]));
        assertArrayEquals(new byte[0], object("gw/alice/empty-ftp.bin"));
        assertArrayEquals(new byte[0], object("gw/alice/empty-http.bin"));
        assertArrayEquals(new byte[0], get("/empty-ftp.bin"));
    }

    @Test
    void utf8NamesBecomeUtf8Keys() throws IOException {
        String name = "/données/überweisung ✓ 日本.txt";
        assertEquals(201, put(name, "é".getBytes(StandardCharsets.UTF_8)));
        assertArrayEquals("é".getBytes(StandardCharsets.UTF_8), object("gw/alice" + name));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ftp.retrieveFile(name, out), ftp.getReplyString());
        assertEquals("é", out.toString(StandardCharsets.UTF_8));
        List<String> keys = s3client.listObjectsV2(l -> l.bucket(BUCKET).prefix("gw/alice/données/")).contents()
                .stream().map(S3Object::key).toList();
        assertEquals(List.of("gw/alice" + name), keys);
    }

    @Test
    void hundredMebibytesOverFtpAndHttpReachTheBucketIntact() throws Exception {
        long size = 100L << 20;
        JsonNode before = stats();

        MessageDigest sentFtp = MessageDigest.getInstance("SHA-256");
        try (InputStream in = new DigestInputStream(new PatternStream(size, 7), sentFtp)) {
            assertTrue(ftp.storeFile("/big-ftp.bin", in), ftp.getReplyString());
        }
        MessageDigest sentHttp = MessageDigest.getInstance("SHA-256");
        HttpPut put = auth(new HttpPut(http.resolve("/files/big-http.bin")), "alice", "secret");
        put.setEntity(new InputStreamEntity(new DigestInputStream(new PatternStream(size, 8), sentHttp), size, ContentType.APPLICATION_OCTET_STREAM));
        assertEquals(201, (int) httpClient.execute(put, r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        }));

        assertArrayEquals(sentFtp.digest(), digestOfObject("gw/alice/big-ftp.bin"));
        assertArrayEquals(sentHttp.digest(), digestOfObject("gw/alice/big-http.bin"));
        JsonNode after = stats();
        assertEquals(field(before, "ftp", "bytesIn") + size, field(after, "ftp", "bytesIn"));
        assertEquals(field(before, "http", "bytesIn") + size, field(after, "http", "bytesIn"));
        assertEquals(aliceStoredBytes(before) + 2 * size, aliceStoredBytes(after));
    }

    private static byte[] digestOfObject(String key) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = s3client.getObject(g -> g.bucket(BUCKET).key(key))) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }
}
