package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.FakeGcsServer;
import org.transfergateway.storage.testing.PatternStream;

/**
 * The whole gateway on free ports over Google Cloud Storage, as the fake GCS server serves
 * it: FTP and HTTP uploads read back byte for byte, overwrites, deletes, renames and
 * listings, clients cut off mid-upload leave nothing (no object, no open resumable
 * session), the totals of /api/stats exact after each step, and twenty concurrent uploads
 * in a 256 MiB heap.
 */
class GatewayOverGcsTest {
    private static final Logger log = LoggerFactory.getLogger(GatewayOverGcsTest.class);
    static final String BUCKET = "gateway-it";
    @TempDir
    static Path dir;
    static FakeGcsServer fake;
    static Gateway gateway;
    static final ObjectMapper json = new ObjectMapper();

    static String yaml(FakeGcsServer server, String passive, Path ledger) {
        return """
                ftp: {port: 0, passive-ports: %s}
                http: {port: 0}
                storage:
                  part-size: 8MiB
                  backends:
                    - name: cloud
                      type: gcs
                      bucket: %s
                      prefix: gw/
                      project: test-project
                      endpoint: %s
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(passive, BUCKET, server.endpoint(), ledger);
    }

    @BeforeAll
    static void start() throws Exception {
        fake = FakeGcsServer.start();
        fake.createBucket(BUCKET);
        gateway = Gateway.start(new ConfigLoader(java.util.Map.of()).parse(yaml(fake, "56100-56140", dir.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @AfterEach
    void theFakeRefusedNothing() {
        assertEquals(List.of(), fake.takeRejected());
    }

    // ---- helpers

    static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    static FTPClient ftp(int port) throws IOException {
        FTPClient c = new FTPClient();
        c.setControlEncoding("UTF-8");
        c.connect("127.0.0.1", port);
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static URI files(String path) {
        return URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files" + path);
    }

    private static int put(String path, byte[] body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(files(path)).header("Authorization", auth())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static byte[] get(String path) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(files(path))
                .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    private static JsonNode stats() throws Exception {
        return json.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/api/stats"))
                .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    private static long stored(JsonNode s, String what) {
        return s.path("stored").path("byUser").path("alice").path(what).asLong();
    }

    private static long field(JsonNode s, String protocol, String name) {
        return s.path("transferred").path("byProtocol").path(protocol).path(name).asLong();
    }

    static byte[] object(String name) {
        return fake.content(BUCKET, name);
    }

    private static void waitForNoActiveTransfers() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (!gateway.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(gateway.meter().active().isEmpty(), "transfers still active: " + gateway.meter().active().size());
    }

    // ---- tests

    @Test
    void ftpUploadLandsInTheBucketUnderTheHomeAndDownloadsBack() throws Exception {
        byte[] data = random(700_000, 1);
        JsonNode before = stats();
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try {
            assertTrue(ftp.storeFile("/reports/q1.csv", new ByteArrayInputStream(data)), ftp.getReplyString());
            assertEquals(226, ftp.getReplyCode());
            assertArrayEquals(data, object("gw/alice/reports/q1.csv"));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertTrue(ftp.retrieveFile("/reports/q1.csv", out));
            assertArrayEquals(data, out.toByteArray());
        } finally {
            ftp.disconnect();
        }
        JsonNode after = stats();
        assertEquals(field(before, "ftp", "bytesIn") + data.length, field(after, "ftp", "bytesIn"));
        assertEquals(field(before, "ftp", "bytesOut") + data.length, field(after, "ftp", "bytesOut"));
        assertEquals(field(before, "ftp", "filesIn") + 1, field(after, "ftp", "filesIn"));
        assertEquals(stored(before, "bytes") + data.length, stored(after, "bytes"));
        assertEquals(stored(before, "objects") + 1, stored(after, "objects"));
    }

    @Test
    void httpPutLandsInTheBucketAndOverwriteCountsTheNewSizeOnly() throws Exception {
        JsonNode before = stats();
        assertEquals(201, put("/http/over.bin", random(10_000, 2)));
        assertEquals(200, put("/http/over.bin", random(3_000, 3)));
        assertArrayEquals(random(3_000, 3), object("gw/alice/http/over.bin"));
        assertArrayEquals(random(3_000, 3), get("/http/over.bin"));
        // A download ends, and is counted, once its last bytes are handed to the socket,
        // which may be just after the client has read them.
        JsonNode after = stats();
        for (long deadline = System.nanoTime() + 5_000_000_000L;
                field(after, "http", "bytesOut") < field(before, "http", "bytesOut") + 3_000 && System.nanoTime() < deadline;
                after = stats()) {
            Thread.sleep(20);
        }
        assertEquals(field(before, "http", "bytesIn") + 13_000, field(after, "http", "bytesIn"));
        assertEquals(field(before, "http", "filesIn") + 2, field(after, "http", "filesIn"));
        assertEquals(field(before, "http", "bytesOut") + 3_000, field(after, "http", "bytesOut"));
        assertEquals(stored(before, "bytes") + 3_000, stored(after, "bytes"));
        assertEquals(stored(before, "objects") + 1, stored(after, "objects"));
    }

    @Test
    void deleteRenameListAndFoldersOverFtp() throws Exception {
        assertEquals(201, put("/ops/a.bin", random(1234, 4)));
        assertEquals(201, put("/ops/sub/b.txt", "moving".getBytes()));
        JsonNode before = stats();
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try {
            assertEquals(List.of("a.bin", "sub"), Arrays.stream(ftp.listNames("/ops")).map(n -> n.replaceFirst(".*/", "")).sorted().toList());
            assertTrue(ftp.rename("/ops/sub/b.txt", "/ops/c.txt"), ftp.getReplyString());
            assertNull(object("gw/alice/ops/sub/b.txt"));
            assertArrayEquals("moving".getBytes(), object("gw/alice/ops/c.txt"));
            assertTrue(ftp.deleteFile("/ops/a.bin"), ftp.getReplyString());
            assertNull(object("gw/alice/ops/a.bin"));
            assertTrue(ftp.makeDirectory("/ops/fresh"), ftp.getReplyString());
            assertTrue(ftp.changeWorkingDirectory("/ops/fresh"), ftp.getReplyString());
            assertTrue(ftp.storeFile("inside.txt", new ByteArrayInputStream("in".getBytes())), ftp.getReplyString());
            assertArrayEquals("in".getBytes(), object("gw/alice/ops/fresh/inside.txt"));
            assertTrue(ftp.makeDirectory("/ops/empty-one"));
            assertTrue(ftp.removeDirectory("/ops/empty-one"), ftp.getReplyString());
        } finally {
            ftp.disconnect();
        }
        JsonNode after = stats();
        assertEquals(stored(before, "bytes") - 1234 + 2, stored(after, "bytes"));
        assertEquals(stored(before, "objects") - 1 + 1, stored(after, "objects"));
    }

    /** Around and over one chunk (8 MiB): one media upload, or a resumable session whose last chunk commits. */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {0, 1, 8L << 20, (8L << 20) + 1, 3 * (8L << 20) + 5})
    void sizesAroundTheChunkBoundaryArriveIntactOverFtpAndHttp(long size) throws Exception {
        MessageDigest viaFtp = MessageDigest.getInstance("SHA-256");
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try (InputStream in = new DigestInputStream(new PatternStream(size, 11), viaFtp)) {
            assertTrue(ftp.storeFile("edge-ftp-" + size + ".bin", in), ftp.getReplyString());
        } finally {
            ftp.disconnect();
        }
        MessageDigest viaHttp = MessageDigest.getInstance("SHA-256");
        HttpRequest put = HttpRequest.newBuilder(files("/edge-http-" + size + ".bin")).header("Authorization", auth())
                .PUT(size == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new DigestInputStream(new PatternStream(size, 12), viaHttp)), size))
                .build();
        assertEquals(201, HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.discarding()).statusCode());
        assertArrayEquals(viaFtp.digest(), MessageDigest.getInstance("SHA-256").digest(object("gw/alice/edge-ftp-" + size + ".bin")));
        assertArrayEquals(viaHttp.digest(), MessageDigest.getInstance("SHA-256").digest(object("gw/alice/edge-http-" + size + ".bin")));
        assertEquals(List.of(), fake.openSessions("gw/"));
    }

    /** With a Content-Length and chunked: either way no object and no open session, and the bytes that arrived counted as failed. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"content-length", "chunked"})
    void anHttpClientCutOffHalfwayLeavesNothing(String framing) throws Exception {
        int sent = 20 << 20;
        boolean chunked = framing.equals("chunked");
        String key = "half-http-" + framing + ".bin";
        Counters before = gateway.meter().statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
        boolean sawSession = false;
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            OutputStream out = s.getOutputStream();
            out.write(("PUT /files/" + key + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth()
                    + (chunked ? "\r\nTransfer-Encoding: chunked" : "\r\nContent-Length: " + (40 << 20)) + "\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < sent / chunk.length; i++) {
                if (chunked) {
                    out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.write(chunk);
                if (chunked) {
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
            }
            out.flush();
            long deadline = System.currentTimeMillis() + 10_000;
            while (System.currentTimeMillis() < deadline) {
                sawSession |= !fake.openSessions("gw/alice/" + key).isEmpty();
                if (sawSession && gateway.meter().active().stream().anyMatch(t -> t.bytes() == sent)) {
                    break;
                }
                Thread.sleep(20);
            }
        }
        waitForNoActiveTransfers();
        // A session was open while the body arrived, so that "none left" can fail.
        assertTrue(sawSession, "a resumable session was open while the body arrived");
        assertNull(object("gw/alice/" + key));
        assertEquals(List.of(), fake.openSessions("gw/"));
        Counters after = gateway.meter().statistics(u -> true).transferredByUser().get("alice");
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.filesIn(), after.filesIn());
        assertEquals(before.bytesIn() + sent, after.bytesIn());
    }

    @Test
    void anFtpClientCutOffHalfwayLeavesNothing() throws Exception {
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        OutputStream data = ftp.storeFileStream("half-ftp.bin");
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < 20; i++) {
            data.write(chunk);
        }
        data.flush();
        // Until the gateway has the upload under way, with bytes in storage.
        for (long deadline = System.nanoTime() + 10_000_000_000L; System.nanoTime() < deadline; Thread.sleep(20)) {
            if (gateway.meter().active().stream().anyMatch(t -> t.bytes() > 0)) {
                break;
            }
        }
        // The client dies: the control connection goes first, then, a moment later (the gap is
        // the scenario, not a wait), the data connection.
        ftp.disconnect();
        Thread.sleep(200);
        data.close();
        waitForNoActiveTransfers();
        assertNull(object("gw/alice/half-ftp.bin"));
        assertEquals(List.of(), fake.openSessions("gw/"));
    }

    /**
     * A gateway process at -Xmx256m (so a memory budget of 128 MiB: half the direct memory
     * limit) takes twenty 20 MiB uploads at once, over FTP and HTTP, each in 8 MiB chunks;
     * they wait on the budget, and every object arrives whole. The fake keeps digests only.
     */
    @Test
    void twentyConcurrentUploadsFitA256MebibyteHeap() throws Exception {
        fake.keepDigestsOnlyUnder("heap/");
        Path config = GatewayProcess.writeConfig(dir, yaml(fake, "56200-56250", dir.resolve("ledger-heap"))
                .replace("prefix: gw/", "prefix: heap/"));
        try (GatewayProcess g = GatewayProcess.start(config, "-Xmx256m")) {
            long size = 20L << 20;
            AtomicLong peakHeap = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(21);
            Future<?> sampler = pool.submit(() -> {
                HttpClient http = HttpClient.newHttpClient();
                Pattern used = Pattern.compile("jvm_memory_used_bytes\\{area=\"heap\",[^}]*} ([0-9.E+]+)");
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/metrics"))
                                .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofString()).body();
                        Matcher m = used.matcher(text);
                        long sum = 0;
                        while (m.find()) {
                            sum += (long) Double.parseDouble(m.group(1));
                        }
                        peakHeap.accumulateAndGet(sum, Math::max);
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (IOException e) {
                        // keep sampling
                    }
                }
            });
            List<Future<Integer>> uploads = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int n = i;
                uploads.add(pool.submit(() -> {
                    if (n % 2 == 0) {
                        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/files/c" + n + ".bin"))
                                .header("Authorization", auth())
                                .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                                        () -> new PatternStream(size, n)), size)).build();
                        return HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.discarding()).statusCode();
                    }
                    FTPClient ftp = ftp(g.ftpPort());
                    try (InputStream in = new PatternStream(size, n)) {
                        return ftp.storeFile("c" + n + ".bin", in) ? 201 : ftp.getReplyCode();
                    } finally {
                        ftp.disconnect();
                    }
                }));
            }
            for (Future<Integer> f : uploads) {
                try {
                    assertEquals(201, f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new AssertionError("an upload failed; the gateway said:\n" + g.log(), e);
                }
            }
            sampler.cancel(true);
            pool.shutdownNow();
            for (int i = 0; i < 20; i++) {
                var stored = fake.digest(BUCKET, "heap/alice/c" + i + ".bin");
                assertEquals(size, stored.getKey());
                assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(new PatternStream(size, i).readAllBytes()),
                        stored.getValue());
            }
            assertEquals(List.of(), fake.openSessions("heap/"));
            log.info("20 concurrent 20 MiB uploads to GCS at -Xmx256m: peak heap used {} MiB", peakHeap.get() >> 20);
            assertTrue(peakHeap.get() > 0);
        }
    }
}
