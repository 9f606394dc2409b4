package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.entity.mime.MultipartEntityBuilder;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.storage.testing.PatternStream;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.HttpConfig;
import org.transfergateway.config.LimitsConfig;

/**
 * The HTTP front end over real local storage, driven by Apache HttpClient 5 and raw
 * sockets: exact bytes, statuses, JSON and totals.
 */
class HttpFrontEndTest {
    private static final String ALICE = HttpFixture.basic("alice", "secret");
    private static final String ADMIN = HttpFixture.basic("admin", "admin-secret");
    private static final String METRICS = "# TYPE gateway_up gauge\ngateway_up 1\n";

    private final ObjectMapper json = new ObjectMapper();
    @TempDir
    Path dir;
    private HttpFixture gw;
    private CloseableHttpClient client;

    record Resp(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.get(name.toLowerCase());
        }
    }

    @BeforeEach
    void start() throws Exception {
        gw = new HttpFixture(dir, () -> METRICS);
        client = HttpClients.createDefault();
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        gw.close();
    }

    private Resp call(String method, String path, String auth, HttpEntity entity, String... headers) throws IOException {
        HttpUriRequestBase req = new HttpUriRequestBase(method, java.net.URI.create(gw.url(path)));
        if (auth != null) {
            req.setHeader("Authorization", auth);
        }
        for (int i = 0; i < headers.length; i += 2) {
            req.setHeader(headers[i], headers[i + 1]);
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

    private Resp put(String path, byte[] content) throws IOException {
        return call("PUT", "/files" + path, ALICE, new ByteArrayEntity(content, ContentType.APPLICATION_OCTET_STREAM));
    }

    private Resp get(String path, String... headers) throws IOException {
        return call("GET", path, ALICE, null, headers);
    }

    private JsonNode parse(String text) throws IOException {
        return json.readTree(text);
    }

    private JsonNode stats(String auth) throws IOException {
        Resp r = call("GET", "/api/stats", auth, null);
        assertEquals(200, r.status(), r.text());
        return parse(r.text());
    }

    private static String counters(long bytesIn, long bytesOut, long filesIn, long filesOut, long failedIn, long failedOut) {
        return String.format("{\"bytesIn\":%d,\"bytesOut\":%d,\"filesIn\":%d,\"filesOut\":%d,\"failedIn\":%d,\"failedOut\":%d}",
                bytesIn, bytesOut, filesIn, filesOut, failedIn, failedOut);
    }

    /** The transferred part of the statistics when only alice used HTTP. */
    private static String aliceOnly(String c) {
        return "{" + c.substring(1, c.length() - 1) + ",\"byProtocol\":{\"ftp\":" + counters(0, 0, 0, 0, 0, 0)
                + ",\"http\":" + c + "},\"byUser\":{\"alice\":" + c + "}}";
    }

    private static String storedAlice(long bytes, long objects) {
        String s = "{\"bytes\":" + bytes + ",\"objects\":" + objects + "}";
        return "{\"bytes\":" + bytes + ",\"objects\":" + objects + ",\"byBackend\":{\"local\":" + s
                + "},\"byUser\":{\"alice\":" + s + "}}";
    }

    private void assertTotals(String transferred, String stored) throws IOException {
        JsonNode s = stats(ADMIN);
        assertEquals(parse(transferred), s.get("transferred"));
        assertEquals(parse(stored), s.get("stored"));
        assertEquals(parse("[]"), s.get("active"));
    }

    private Path aliceFile(String path) {
        return gw.root.resolve("alice").resolve(path);
    }

    @Test
    void putCreatesAFileThenReplacesIt() throws IOException {
        Resp created = put("/a/b.bin", "hello".getBytes(StandardCharsets.UTF_8));
        assertEquals(201, created.status());
        assertEquals(parse("{\"path\":\"/a/b.bin\",\"size\":5}"), parse(created.text()));
        assertEquals("hello", Files.readString(aliceFile("a/b.bin")));
        assertTotals(aliceOnly(counters(5, 0, 1, 0, 0, 0)), storedAlice(5, 1));

        Resp replaced = put("/a/b.bin", "goodbye".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, replaced.status());
        assertEquals(parse("{\"path\":\"/a/b.bin\",\"size\":7}"), parse(replaced.text()));
        assertEquals("goodbye", Files.readString(aliceFile("a/b.bin")));
        assertTotals(aliceOnly(counters(12, 0, 2, 0, 0, 0)), storedAlice(7, 1));
    }

    @Test
    void aChunkedPutStoresTheWholeBody() throws IOException {
        byte[] content = new byte[300_000];
        new java.util.Random(7).nextBytes(content);
        Resp r = call("PUT", "/files/chunked.bin", ALICE,
                new InputStreamEntity(new ByteArrayInputStream(content), -1, ContentType.APPLICATION_OCTET_STREAM));
        assertEquals(201, r.status(), r.text());
        assertEquals(parse("{\"path\":\"/chunked.bin\",\"size\":300000}"), parse(r.text()));
        assertArrayEquals(content, Files.readAllBytes(aliceFile("chunked.bin")));
        assertTotals(aliceOnly(counters(300_000, 0, 1, 0, 0, 0)), storedAlice(300_000, 1));
    }

    @Test
    void expectContinueGetsA100BeforeTheBodyIsSent() throws IOException {
        try (Socket s = gw.socket()) {
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PUT /files/c.txt HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
            HttpFixture.RawResponse cont = HttpFixture.read(s.getInputStream());
            assertEquals(100, cont.status());
            HttpFixture.send(out, "abc");
            HttpFixture.RawResponse done = HttpFixture.read(s.getInputStream());
            assertEquals(201, done.status());
            assertEquals(parse("{\"path\":\"/c.txt\",\"size\":3}"), parse(done.body()));
        }
        assertEquals("abc", Files.readString(aliceFile("c.txt")));
    }

    @Test
    void aMultipartPostStoresEachFilePartUnderItsName() throws IOException {
        HttpEntity form = MultipartEntityBuilder.create()
                .addBinaryBody("file", "first file".getBytes(StandardCharsets.UTF_8), ContentType.APPLICATION_OCTET_STREAM, "a.bin")
                .addTextBody("note", "ignored field")
                .addBinaryBody("file", new byte[70_000], ContentType.APPLICATION_OCTET_STREAM, "b.bin")
                .build();
        Resp r = call("POST", "/files/up/", ALICE, form);
        assertEquals(201, r.status(), r.text());
        assertEquals(parse("[{\"path\":\"/up/a.bin\",\"size\":10},{\"path\":\"/up/b.bin\",\"size\":70000}]"), parse(r.text()));
        assertEquals("first file", Files.readString(aliceFile("up/a.bin")));
        assertArrayEquals(new byte[70_000], Files.readAllBytes(aliceFile("up/b.bin")));
        assertTotals(aliceOnly(counters(70_010, 0, 2, 0, 0, 0)), storedAlice(70_010, 2));
    }

    @Test
    void getSendsTheFileAndRangesSendTheirBytes() throws IOException {
        byte[] content = "0123456789".getBytes(StandardCharsets.UTF_8);
        put("/r.txt", content);

        Resp full = get("/files/r.txt");
        assertEquals(200, full.status());
        assertArrayEquals(content, full.body());
        assertEquals("10", full.header("Content-Length"));
        assertTrue(full.header("ETag").matches("\"[^\"]+\""), full.header("ETag"));
        assertTrue(full.header("Last-Modified").endsWith(" GMT"), full.header("Last-Modified"));

        Resp mid = get("/files/r.txt", "Range", "bytes=2-5");
        assertEquals(206, mid.status());
        assertEquals("2345", mid.text());
        assertEquals("bytes 2-5/10", mid.header("Content-Range"));
        assertEquals("4", mid.header("Content-Length"));

        Resp tail = get("/files/r.txt", "Range", "bytes=7-");
        assertEquals(206, tail.status());
        assertEquals("789", tail.text());
        assertEquals("bytes 7-9/10", tail.header("Content-Range"));

        Resp suffix = get("/files/r.txt", "Range", "bytes=-4");
        assertEquals(206, suffix.status());
        assertEquals("6789", suffix.text());
        assertEquals("bytes 6-9/10", suffix.header("Content-Range"));

        Resp beyond = get("/files/r.txt", "Range", "bytes=10-");
        assertEquals(416, beyond.status());
        assertEquals("bytes */10", beyond.header("Content-Range"));
        assertEquals("range_not_satisfiable", parse(beyond.text()).get("error").asText());

        assertTotals(aliceOnly(counters(10, 10 + 4 + 3 + 4, 1, 4, 0, 0)), storedAlice(10, 1));
    }

    @Test
    void headSendsTheHeadersWithoutABodyAndCountsNoTransfer() throws IOException {
        put("/h.txt", "head me".getBytes(StandardCharsets.UTF_8));
        Resp get = get("/files/h.txt");
        Resp head = call("HEAD", "/files/h.txt", ALICE, null);
        assertEquals(200, head.status());
        assertEquals(0, head.body().length);
        assertEquals("7", head.header("Content-Length"));
        assertEquals(get.header("ETag"), head.header("ETag"));
        assertEquals(get.header("Last-Modified"), head.header("Last-Modified"));
        assertEquals(404, call("HEAD", "/files/none.txt", ALICE, null).status());
        assertTotals(aliceOnly(counters(7, 7, 1, 1, 0, 0)), storedAlice(7, 1));
    }

    @Test
    void deleteAnswers204ThenTheSecondTime404() throws IOException {
        put("/d.txt", "bye".getBytes(StandardCharsets.UTF_8));
        assertEquals(204, call("DELETE", "/files/d.txt", ALICE, null).status());
        assertFalse(Files.exists(aliceFile("d.txt")));
        Resp again = call("DELETE", "/files/d.txt", ALICE, null);
        assertEquals(404, again.status());
        assertEquals("not_found", parse(again.text()).get("error").asText());
        assertTotals(aliceOnly(counters(3, 0, 1, 0, 0, 0)), storedAlice(0, 0));
    }

    @Test
    void aFolderEndingInSlashIsListedAsJson() throws IOException {
        put("/docs/b.txt", "bb".getBytes(StandardCharsets.UTF_8));
        put("/docs/a.txt", "a".getBytes(StandardCharsets.UTF_8));
        put("/docs/sub/c.txt", "ccc".getBytes(StandardCharsets.UTF_8));
        Resp r = get("/files/docs/");
        assertEquals(200, r.status(), r.text());
        JsonNode listing = parse(r.text());
        assertEquals("/docs/", listing.get("path").asText());
        List<String> entries = Stream.of(listing.get("entries")).flatMap(e -> {
            java.util.List<String> l = new java.util.ArrayList<>();
            e.forEach(x -> l.add(x.get("name").asText() + " " + x.get("type").asText() + " " + x.get("size").asLong()
                    + " " + !x.get("modified").asText().isEmpty()));
            return l.stream();
        }).collect(Collectors.toList());
        assertEquals(List.of("a.txt file 1 true", "b.txt file 2 true", "sub dir 0 true"), entries);
        assertEquals(parse("{\"path\":\"/\",\"entries\":[{\"name\":\"docs\",\"type\":\"dir\",\"size\":0,\"modified\":"
                + listing(get("/files/").text()) + "}]}"), parse(get("/files/").text()));
        assertEquals(404, get("/files/nothing/").status());
    }

    private String listing(String rootListing) throws IOException {
        return json.writeValueAsString(parse(rootListing).get("entries").get(0).get("modified"));
    }

    @Test
    void anEmptyFileIsStoredAndSentBack() throws IOException {
        Resp r = put("/empty", new byte[0]);
        assertEquals(201, r.status());
        assertEquals(parse("{\"path\":\"/empty\",\"size\":0}"), parse(r.text()));
        Resp back = get("/files/empty");
        assertEquals(200, back.status());
        assertEquals("0", back.header("Content-Length"));
        assertEquals(0, back.body().length);
        assertTotals(aliceOnly(counters(0, 0, 1, 1, 0, 0)), storedAlice(0, 1));
    }

    @Test
    void a100MebibyteUploadStreamsThroughAndComesBackIntact() throws Exception {
        long size = 100L * 1024 * 1024;
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        InputStream generated = new java.security.DigestInputStream(new PatternStream(size, 42), sent);
        Resp r = call("PUT", "/files/big.bin", ALICE, new InputStreamEntity(generated, size, ContentType.APPLICATION_OCTET_STREAM));
        assertEquals(201, r.status(), r.text());
        assertEquals(parse("{\"path\":\"/big.bin\",\"size\":" + size + "}"), parse(r.text()));

        HttpUriRequestBase req = new HttpUriRequestBase("GET", java.net.URI.create(gw.url("/files/big.bin")));
        req.setHeader("Authorization", ALICE);
        byte[] received = client.execute(req, resp -> {
            assertEquals(200, resp.getCode());
            MessageDigest d;
            try {
                d = MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IOException(e);
            }
            long n = 0;
            try (InputStream in = resp.getEntity().getContent()) {
                byte[] buf = new byte[64 * 1024];
                for (int k; (k = in.read(buf)) >= 0; ) {
                    d.update(buf, 0, k);
                    n += k;
                }
            }
            assertEquals(size, n);
            return d.digest();
        });
        assertEquals(HexFormat.of().formatHex(sent.digest()), HexFormat.of().formatHex(received));
        assertTotals(aliceOnly(counters(size, size, 1, 1, 0, 0)), storedAlice(size, 1));
    }

    @Test
    void utf8FileNamesArriveDecodedOnce() throws IOException {
        String path = "/données/überweisung ✓.txt";
        String encoded = Stream.of(path.substring(1).split("/"))
                .map(s -> URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20"))
                .collect(Collectors.joining("/", "/files/", ""));
        Resp r = call("PUT", encoded, ALICE, new ByteArrayEntity("ü".getBytes(StandardCharsets.UTF_8), null));
        assertEquals(201, r.status(), r.text());
        assertEquals(path, parse(r.text()).get("path").asText());
        assertEquals("ü", Files.readString(aliceFile("données/überweisung ✓.txt")));
        assertEquals("ü", get(encoded).text());
        assertEquals("überweisung ✓.txt", parse(get("/files/donn%C3%A9es/").text()).get("entries").get(0).get("name").asText());
        try (Socket s = gw.socket()) {
            // Unescaped UTF-8 in the request line, as some clients send it.
            s.getOutputStream().write(("GET /files/données/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            HttpFixture.RawResponse raw = HttpFixture.read(s.getInputStream());
            assertEquals(200, raw.status(), raw.body());
            assertEquals("/données/", parse(raw.body()).get("path").asText());
        }
    }

    @Test
    void missingOrWrongCredentialsGive401WithAChallenge() throws IOException {
        for (String auth : new String[] {null, HttpFixture.basic("alice", "wrong"), HttpFixture.basic("mallory", "secret")}) {
            Resp r = call("GET", "/files/", auth, null);
            assertEquals(401, r.status());
            assertEquals("Basic realm=\"transfer-gateway\"", r.header("WWW-Authenticate"));
            assertEquals("unauthorized", parse(r.text()).get("error").asText());
        }
        assertEquals(401, call("GET", "/api/stats", null, null).status());
        assertEquals(401, call("GET", "/no/such/route", null, null).status());
        Resp health = call("GET", "/healthz", null, null);
        assertEquals(200, health.status());
        assertEquals("ok", health.text());
    }

    @Test
    void metricsAreForAdminsOnly() throws IOException {
        Resp alice = call("GET", "/metrics", ALICE, null);
        assertEquals(403, alice.status());
        assertEquals("forbidden", parse(alice.text()).get("error").asText());
        Resp admin = call("GET", "/metrics", ADMIN, null);
        assertEquals(200, admin.status());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", admin.header("Content-Type"));
        assertEquals(METRICS, admin.text());
    }

    @Test
    void unknownRoutesGive404AndWrongMethods405() throws IOException {
        Resp none = call("GET", "/nothing", ALICE, null);
        assertEquals(404, none.status());
        assertEquals("not_found", parse(none.text()).get("error").asText());
        Resp wrong = call("POST", "/api/stats", ALICE, null);
        assertEquals(405, wrong.status());
        assertEquals("GET", wrong.header("Allow"));
        assertEquals("method_not_allowed", parse(wrong.text()).get("error").asText());
    }

    @Test
    void aUserSeesOnlyItsOwnTotalsAndAnAdminSeesAll() throws IOException {
        put("/mine.txt", "alice!".getBytes(StandardCharsets.UTF_8));
        Resp r = call("PUT", "/files/admin.txt", ADMIN, new ByteArrayEntity("admin's".getBytes(StandardCharsets.UTF_8), null));
        assertEquals(201, r.status());

        JsonNode alice = stats(ALICE);
        assertEquals(parse(aliceOnly(counters(6, 0, 1, 0, 0, 0))), alice.get("transferred"));
        assertEquals(parse(storedAlice(6, 1)), alice.get("stored"));

        JsonNode admin = stats(ADMIN);
        String both = counters(13, 0, 2, 0, 0, 0);
        assertEquals(parse("{" + both.substring(1, both.length() - 1) + ",\"byProtocol\":{\"ftp\":" + counters(0, 0, 0, 0, 0, 0)
                + ",\"http\":" + both + "},\"byUser\":{\"admin\":" + counters(7, 0, 1, 0, 0, 0)
                + ",\"alice\":" + counters(6, 0, 1, 0, 0, 0) + "}}"), admin.get("transferred"));
        assertEquals(parse("{\"bytes\":13,\"objects\":2,\"byBackend\":{\"local\":{\"bytes\":13,\"objects\":2}},"
                + "\"byUser\":{\"admin\":{\"bytes\":7,\"objects\":1},\"alice\":{\"bytes\":6,\"objects\":1}}}"), admin.get("stored"));
        assertTrue(admin.get("since").asText().endsWith("Z"));
        List<String> keys = new java.util.ArrayList<>();
        admin.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("since", "transferred", "stored", "active"), keys);
    }

    @Test
    void pathEscapesAreRefusedAndNothingIsWrittenOutsideTheHome() throws IOException {
        for (String target : new String[] {"/files/%2e%2e/%2e%2e/etc/passwd", "/files/../../x", "/files/a/%2E%2E/%2E%2E/x",
                "/files/%2e%2e/admin/x"}) {
            try (Socket s = gw.socket()) {
                HttpFixture.send(s.getOutputStream(), "PUT " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                        + "\r\nContent-Length: 4\r\n\r\nevil");
                HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
                assertEquals(400, r.status(), target + ": " + r.body());
                assertEquals("bad_path", parse(r.body()).get("error").asText());
            }
        }
        try (Stream<Path> all = Files.walk(dir)) {
            List<Path> files = all.filter(Files::isRegularFile).collect(Collectors.toList());
            assertEquals(List.of(), files);
        }
        assertTotals(aliceOnly(counters(0, 0, 0, 0, 0, 0)).replace(",\"byUser\":{\"alice\":" + counters(0, 0, 0, 0, 0, 0) + "}",
                ",\"byUser\":{}"), "{\"bytes\":0,\"objects\":0,\"byBackend\":{},\"byUser\":{}}");
    }

    @Test
    void uploadCutOffMidwayLeavesNoFileAndCountsAFailure() throws Exception {
        int half = 512 * 1024;
        try (Socket s = gw.socket()) {
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PUT /files/cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Length: " + (2 * half) + "\r\n\r\n");
            out.write(new byte[half]);
            out.flush();
        }
        JsonNode s = stats(ADMIN);
        for (int i = 0; i < 100 && (s.get("active").size() > 0 || s.get("transferred").get("failedIn").asLong() == 0); i++) {
            Thread.sleep(50);
            s = stats(ADMIN);
        }
        assertEquals(parse(aliceOnly(counters(half, 0, 0, 0, 1, 0))), s.get("transferred"));
        assertEquals(parse("[]"), s.get("active"));
        assertFalse(Files.exists(aliceFile("cut.bin")));
        try (Stream<Path> all = Files.walk(gw.root)) {
            assertEquals(List.of(), all.filter(Files::isRegularFile).collect(Collectors.toList()));
        }
        assertEquals(201, put("/after.txt", "still serving".getBytes(StandardCharsets.UTF_8)).status());
        assertEquals("still serving", get("/files/after.txt").text());
    }

    @Test
    void oneConnectionCarriesManyRequests() throws IOException {
        try (Socket s = gw.socket()) {
            for (int i = 0; i < 20; i++) {
                HttpFixture.send(s.getOutputStream(), "PUT /files/k" + i + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                        + "\r\nContent-Length: 2\r\n\r\nk" + (i % 10));
                HttpFixture.RawResponse put = HttpFixture.read(s.getInputStream());
                assertEquals(201, put.status(), put.body());
                assertNull(put.connection());
                HttpFixture.send(s.getOutputStream(), "GET /files/k" + i + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                        + "\r\n\r\n");
                HttpFixture.RawResponse got = HttpFixture.read(s.getInputStream());
                assertEquals(200, got.status());
                assertEquals("k" + (i % 10), got.body());
            }
            // Pipelined: three requests in one write, answered in order.
            HttpFixture.send(s.getOutputStream(), ("GET /files/k1 HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE + "\r\n\r\n")
                    + "PUT /files/k1 HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE + "\r\nContent-Length: 3\r\n\r\nnew"
                    + "GET /files/k1 HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE + "\r\n\r\n");
            assertEquals("k1", HttpFixture.read(s.getInputStream()).body());
            assertEquals(200, HttpFixture.read(s.getInputStream()).status());
            assertEquals("new", HttpFixture.read(s.getInputStream()).body());
        }
    }

    @Test
    void anUploadRefusedBeforeItsBodyWasReadClosesTheConnection() throws IOException {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "PUT /files/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
            HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
            assertEquals(401, r.status());
            assertEquals("close", r.connection());
            assertEquals(-1, s.getInputStream().read());
        }
    }

    @Test
    void aClientThatStopsReadingStopsTheGatewayAndLeavingCountsTheDownloadAsFailed() throws Exception {
        long size = 64L * 1024 * 1024;
        Resp up = call("PUT", "/files/slow.bin", ALICE,
                new InputStreamEntity(new PatternStream(size, 3), size, ContentType.APPLICATION_OCTET_STREAM));
        assertEquals(201, up.status());
        long sentBefore;
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(gw.address);
            HttpFixture.send(s.getOutputStream(), "GET /files/slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\n\r\n");
            assertTrue(s.getInputStream().readNBytes(1000).length == 1000);
            long previous = -1;
            long now = activeBytes();
            for (int i = 0; i < 50 && now != previous; i++) {
                Thread.sleep(1100);
                previous = now;
                now = activeBytes();
            }
            assertEquals(previous, now, "the gateway kept reading for a client that does not");
            assertTrue(now < size / 4, "read " + now + " of " + size + " bytes for a client that stopped reading");
            sentBefore = now;
        }
        JsonNode stats = stats(ADMIN);
        for (int i = 0; i < 100 && stats.get("active").size() > 0; i++) {
            Thread.sleep(50);
            stats = stats(ADMIN);
        }
        JsonNode t = stats.get("transferred");
        assertEquals(0, t.get("filesOut").asLong());
        assertEquals(1, t.get("failedOut").asLong());
        assertTrue(t.get("bytesOut").asLong() >= sentBefore && t.get("bytesOut").asLong() < size, t.toString());
        assertEquals(200, get("/healthz").status());
    }

    /** The bytes of the one active download, as the statistics show them. */
    private long activeBytes() throws IOException {
        JsonNode active = stats(ADMIN).get("active");
        assertEquals(1, active.size(), active.toString());
        assertEquals("out", active.get(0).get("direction").asText());
        return active.get(0).get("bytes").asLong();
    }

    @Test
    void aMultipartFileNameWithAPathIsStoredUnderItsLastSegment() throws IOException {
        HttpEntity form = MultipartEntityBuilder.create()
                .addBinaryBody("file", "x".getBytes(StandardCharsets.UTF_8), ContentType.APPLICATION_OCTET_STREAM, "a/../../evil.bin")
                .build();
        Resp r = call("POST", "/files/in/", ALICE, form);
        assertEquals(201, r.status(), r.text());
        assertEquals(parse("[{\"path\":\"/in/evil.bin\",\"size\":1}]"), parse(r.text()));
        assertEquals("x", Files.readString(aliceFile("in/evil.bin")));
    }

    @Test
    void aMultipartBodyCutShortStoresNothingOfTheUnfinishedPart() throws IOException {
        String boundary = "XyZ";
        String body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"part.bin\"\r\n\r\nnot finished";
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "POST /files/mp/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Type: multipart/form-data; boundary=" + boundary
                    + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
            assertEquals(400, r.status(), r.body());
            assertEquals("bad_request", parse(r.body()).get("error").asText());
        }
        assertFalse(Files.exists(aliceFile("mp/part.bin")));
        JsonNode t = stats(ADMIN).get("transferred");
        assertEquals(1, t.get("failedIn").asLong());
        assertEquals(0, t.get("filesIn").asLong());
    }

    @Test
    void startingOnAPortInUseFailsNamingTheAddress() {
        HttpConfig taken = new HttpConfig(true, "127.0.0.1", gw.address.getPort(), 16 * 1024, Duration.ofSeconds(30));
        HttpFrontEnd second = new HttpFrontEnd(taken, LimitsConfig.DEFAULTS, gw.accounts, () -> "");
        try {
            IOException e = assertThrows(IOException.class, second::start);
            assertTrue(e.getMessage().startsWith("http: cannot listen on 127.0.0.1:" + gw.address.getPort()), e.getMessage());
        } finally {
            second.close();
        }
    }

    @Test
    void headersOverTheLimitGet413AndTheConnectionCloses() throws IOException {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000)
                    + "\r\n\r\n");
            HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
            assertEquals(413, r.status(), r.body());
            assertEquals("too_large", parse(r.body()).get("error").asText());
            assertEquals("close", r.connection());
        }
    }

    @Test
    void aMalformedChunkedBodyGets400AndStoresNothing() throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "PUT /files/bad-chunks.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\nnope\r\n0\r\n\r\n");
            HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
            assertEquals(400, r.status(), r.body());
            assertEquals("bad_request", parse(r.body()).get("error").asText());
            assertEquals("close", r.connection());
        }
        JsonNode stats = stats(ADMIN);
        for (int i = 0; i < 100 && stats.get("active").size() > 0; i++) {
            Thread.sleep(50);
            stats = stats(ADMIN);
        }
        assertEquals(parse(aliceOnly(counters(4, 0, 0, 0, 1, 0))), stats.get("transferred"));
        assertFalse(Files.exists(aliceFile("bad-chunks.bin")));
    }
}
