package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.ListBlobsOptions;
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
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.PatternStream;

/**
 * The whole gateway on free ports over Azure Blob Storage (Azurite): FTP and HTTP uploads
 * read back byte for byte through the Azure SDK, overwrites, deletes, renames and listings,
 * clients cut off mid-upload leave nothing (no blob, no staged blocks), the totals of
 * /api/stats exact after each step, and twenty concurrent uploads in a 256 MiB heap.
 */
class GatewayOverAzureTest {
    private static final Logger log = LoggerFactory.getLogger(GatewayOverAzureTest.class);
    static final String CONTAINER = "gateway-it";
    @TempDir
    static Path dir;
    static AzuriteFixture azurite;
    static BlobContainerClient container;
    static Gateway gateway;
    static final ObjectMapper json = new ObjectMapper();

    static String yaml(AzuriteFixture server, String passive, Path ledger) {
        return """
                ftp: {port: 0, passive-ports: %s}
                http: {port: 0}
                storage:
                  part-size: 8MiB
                  backends:
                    - name: blob
                      type: azure
                      container: %s
                      prefix: gw/
                      endpoint: %s
                      account-name: ${AZURE_ACCOUNT}
                      account-key: ${AZURE_KEY}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(passive, CONTAINER, server.endpoint(), ledger);
    }

    static final Map<String, String> ENV = Map.of("AZURE_ACCOUNT", AzuriteFixture.ACCOUNT, "AZURE_KEY", AzuriteFixture.KEY);

    @BeforeAll
    static void start() throws Exception {
        azurite = AzuriteFixture.shared();
        container = azurite.createContainer(CONTAINER);
        gateway = Gateway.start(new ConfigLoader(ENV).parse(yaml(azurite, "53500-53550", dir.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (azurite != null) {
            azurite.deleteContainer(CONTAINER);
        }
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

    static byte[] blob(String name) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        container.getBlobClient(name).downloadStream(out);
        return out.toByteArray();
    }

    static boolean exists(String name) {
        return container.getBlobClient(name).exists();
    }

    static byte[] sha256OfBlob(String name) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = container.getBlobClient(name).openInputStream()) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }

    /** Blobs that exist only as staged blocks: uploads neither committed nor discarded. */
    static List<String> stagedOnly() {
        Set<String> committed = container.listBlobs().stream().map(BlobItem::getName).collect(Collectors.toSet());
        return container.listBlobs(new ListBlobsOptions().setDetails(new BlobListDetails().setRetrieveUncommittedBlobs(true)), null)
                .stream().map(BlobItem::getName).filter(n -> !committed.contains(n)).toList();
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
    void ftpUploadLandsInTheContainerUnderTheHomeAndDownloadsBack() throws Exception {
        byte[] data = random(700_000, 1);
        JsonNode before = stats();
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try {
            assertTrue(ftp.storeFile("/reports/q1.csv", new ByteArrayInputStream(data)), ftp.getReplyString());
            assertEquals(226, ftp.getReplyCode());
            assertArrayEquals(data, blob("gw/alice/reports/q1.csv"));
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
    void httpPutLandsInTheContainerAndOverwriteCountsTheNewSizeOnly() throws Exception {
        JsonNode before = stats();
        assertEquals(201, put("/http/over.bin", random(10_000, 2)));
        assertEquals(200, put("/http/over.bin", random(3_000, 3)));
        assertArrayEquals(random(3_000, 3), blob("gw/alice/http/over.bin"));
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
            assertFalse(exists("gw/alice/ops/sub/b.txt"));
            assertArrayEquals("moving".getBytes(), blob("gw/alice/ops/c.txt"));
            assertTrue(ftp.deleteFile("/ops/a.bin"), ftp.getReplyString());
            assertFalse(exists("gw/alice/ops/a.bin"));
            assertTrue(ftp.makeDirectory("/ops/fresh"), ftp.getReplyString());
            assertTrue(ftp.changeWorkingDirectory("/ops/fresh"), ftp.getReplyString());
            assertTrue(ftp.storeFile("inside.txt", new ByteArrayInputStream("in".getBytes())), ftp.getReplyString());
            assertArrayEquals("in".getBytes(), blob("gw/alice/ops/fresh/inside.txt"));
            assertTrue(ftp.makeDirectory("/ops/empty-one"));
            assertTrue(ftp.removeDirectory("/ops/empty-one"), ftp.getReplyString());
        } finally {
            ftp.disconnect();
        }
        JsonNode after = stats();
        assertEquals(stored(before, "bytes") - 1234 + 2, stored(after, "bytes"));
        assertEquals(stored(before, "objects") - 1 + 1, stored(after, "objects"));
    }

    /** Around and over one block (8 MiB): one Put Blob, or staged blocks and a block list. */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {0, 1, 8L << 20, (8L << 20) + 1, 3 * (8L << 20) + 5})
    void sizesAroundTheBlockBoundaryArriveIntactOverFtpAndHttp(long size) throws Exception {
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
        assertArrayEquals(viaFtp.digest(), sha256OfBlob("gw/alice/edge-ftp-" + size + ".bin"));
        assertArrayEquals(viaHttp.digest(), sha256OfBlob("gw/alice/edge-http-" + size + ".bin"));
        assertEquals(size, container.getBlobClient("gw/alice/edge-http-" + size + ".bin").getProperties().getBlobSize());
        assertEquals(List.of(), stagedOnly());
    }

    /**
     * With a Content-Length up to 256 MiB (one streamed Put Blob), a larger one and chunked
     * (staged blocks): either way no blob and no staged blocks, and the bytes that arrived
     * counted as failed.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"content-length", "content-length-large", "chunked"})
    void anHttpClientCutOffHalfwayLeavesNothing(String framing) throws Exception {
        int sent = 20 << 20;
        boolean chunked = framing.equals("chunked");
        boolean staging = !framing.equals("content-length");
        long announced = framing.equals("content-length") ? 40 << 20 : 300L << 20;
        String key = "half-http-" + framing + ".bin";
        Counters before = gateway.meter().statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
        boolean sawStaged = false;
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            OutputStream out = s.getOutputStream();
            out.write(("PUT /files/" + key + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth()
                    + (chunked ? "\r\nTransfer-Encoding: chunked" : "\r\nContent-Length: " + announced) + "\r\n\r\n")
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
                sawStaged |= !stagedOnly().isEmpty();
                // Blocks are staged in the background: wait for one to land before the cut.
                if ((sawStaged || !staging) && gateway.meter().active().stream().anyMatch(t -> t.bytes() == sent)) {
                    break;
                }
                Thread.sleep(20);
            }
            sawStaged |= !stagedOnly().isEmpty();
        }
        waitForNoActiveTransfers();
        // Blocks were staged while the body arrived, so that "none left" can fail; none for
        // the streamed Put Blob, whose request ended short of its length.
        assertEquals(staging, sawStaged, "blocks staged while the body arrived");
        assertFalse(exists("gw/alice/" + key));
        assertEquals(List.of(), stagedOnly());
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
        assertFalse(exists("gw/alice/half-ftp.bin"));
        assertEquals(List.of(), stagedOnly());
    }

    @Test
    void twentyConcurrentUploadsOfFiftyMebibytesFitA256MebibyteHeap() throws Exception {
        Path config = GatewayProcess.writeConfig(dir, yaml(azurite, "53560-53610", dir.resolve("ledger-heap"))
                .replace("${AZURE_ACCOUNT}", AzuriteFixture.ACCOUNT).replace("${AZURE_KEY}", AzuriteFixture.KEY)
                .replace("prefix: gw/", "prefix: heap/"));
        try (GatewayProcess g = GatewayProcess.start(config, "-Xmx256m")) {
            long size = 50L << 20;
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
                assertEquals(size, container.getBlobClient("heap/alice/c" + i + ".bin").getProperties().getBlobSize());
                assertArrayEquals(sha256(new PatternStream(size, i)), sha256OfBlob("heap/alice/c" + i + ".bin"));
            }
            log.info("20 concurrent 50 MiB uploads to Azure at -Xmx256m: peak heap used {} MiB", peakHeap.get() >> 20);
            assertTrue(peakHeap.get() > 0);
        }
    }

    private static byte[] sha256(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (in) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }
}
