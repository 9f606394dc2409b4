package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.PatternStream;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * S3 streaming through the whole gateway: large bodies intact, a client that dies
 * mid-upload leaves nothing, a backend that stops mid-upload gives a clear error, and
 * twenty concurrent uploads fit a 256 MiB heap.
 */
class S3StreamingTest {
    private static final Logger log = LoggerFactory.getLogger(S3StreamingTest.class);
    static final String BUCKET = "streaming";
    @TempDir
    static Path dir;
    static S3ProxyFixture s3;
    static S3Client client;
    static Gateway gateway;

    static String yaml(S3ProxyFixture server, String passive, Path ledger) {
        return """
                ftp: {port: 0, passive-ports: %s}
                http: {port: 0}
                storage:
                  part-size: 8MiB
                  backends:
                    - {name: s3, type: s3, bucket: %s, endpoint: "%s", path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(passive, BUCKET, server.endpoint(), server.accessKey(), server.secretKey(), ledger);
    }

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        client = s3.client();
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse(yaml(s3, "53300-53350", dir.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    static FTPClient ftp(int port) throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    static byte[] sha256Of(S3Client c, String key) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = c.getObject(g -> g.bucket(BUCKET).key(key))) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }

    static boolean exists(S3Client c, String key) {
        try {
            c.headObject(h -> h.bucket(BUCKET).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        }
    }

    static int multipartUploads(S3Client c) {
        return c.listMultipartUploads(l -> l.bucket(BUCKET)).uploads().size();
    }

    /** Integrity only: the speed against a direct upload is a row of the benchmarks (bench/). */
    @Test
    void oneGibibyteOverFtpAndHttpArrivesIntact() throws Exception {
        long size = 1L << 30;
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try (InputStream in = new DigestInputStream(new PatternStream(size, 2), sent)) {
            assertTrue(ftp.storeFile("big-ftp.bin", in), ftp.getReplyString());
        }
        ftp.disconnect();
        assertArrayEquals(sent.digest(), sha256Of(client, "alice/big-ftp.bin"));

        MessageDigest sentHttp = MessageDigest.getInstance("SHA-256");
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files/big-http.bin"))
                .header("Authorization", auth())
                .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new DigestInputStream(new PatternStream(size, 3), sentHttp)), size))
                .build();
        assertEquals(201, HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.discarding()).statusCode());
        assertArrayEquals(sentHttp.digest(), sha256Of(client, "alice/big-http.bin"));
        assertEquals(0, multipartUploads(client));
        for (String k : List.of("alice/big-ftp.bin", "alice/big-http.bin")) {
            client.deleteObject(d -> d.bucket(BUCKET).key(k));
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} bytes")
    @org.junit.jupiter.params.provider.ValueSource(longs = {0, 1, 8L << 20, (8L << 20) + 1, 3 * (8L << 20) + 5})
    void sizesAroundThePartBoundaryArriveIntactOverFtpAndHttp(long size) throws Exception {
        MessageDigest viaFtp = MessageDigest.getInstance("SHA-256");
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        try (InputStream in = new DigestInputStream(new PatternStream(size, 11), viaFtp)) {
            assertTrue(ftp.storeFile("edge-ftp-" + size + ".bin", in), ftp.getReplyString());
        }
        ftp.disconnect();
        MessageDigest viaHttp = MessageDigest.getInstance("SHA-256");
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files/edge-http-" + size + ".bin"))
                .header("Authorization", auth())
                .PUT(size == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new DigestInputStream(new PatternStream(size, 12), viaHttp)), size))
                .build();
        assertEquals(201, HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.discarding()).statusCode());
        assertArrayEquals(viaFtp.digest(), sha256Of(client, "alice/edge-ftp-" + size + ".bin"));
        assertArrayEquals(viaHttp.digest(), sha256Of(client, "alice/edge-http-" + size + ".bin"));
        assertEquals(size, client.headObject(h -> h.bucket(BUCKET).key("alice/edge-http-" + size + ".bin")).contentLength());
        assertEquals(0, multipartUploads(client));
    }

    /**
     * With a Content-Length (up to 100 MiB: one streamed PutObject) and chunked (a
     * multipart upload): either way nothing is left, and the transfer is failed with
     * exactly the bytes that arrived.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"content-length", "chunked"})
    void anHttpClientKilledHalfwayLeavesNoObjectAndNoUpload(String framing) throws Exception {
        int sent = 20 << 20;
        boolean chunked = framing.equals("chunked");
        String key = "half-http-" + framing + ".bin";
        Counters before = gateway.meter().statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
        boolean sawMultipart = false;
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
                sawMultipart |= multipartUploads(client) > 0;
                if (gateway.meter().active().stream().anyMatch(t -> t.bytes() == sent)) {
                    break;
                }
                Thread.sleep(20);
            }
            sawMultipart |= multipartUploads(client) > 0;
        }
        waitForNoActiveTransfers();
        // The multipart path was taken where it should be, so that "none left open" can fail.
        assertEquals(chunked, sawMultipart, "a multipart upload was open while the body arrived");
        assertFalse(exists(client, "alice/" + key));
        assertEquals(0, multipartUploads(client));
        Counters after = gateway.meter().statistics(u -> true).transferredByUser().get("alice");
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.filesIn(), after.filesIn());
        assertEquals(before.bytesIn() + sent, after.bytesIn());
    }

    @Test
    void anFtpClientKilledHalfwayLeavesNoObjectAndNoUpload() throws Exception {
        FTPClient ftp = ftp(gateway.ftpAddress().getPort());
        OutputStream data = ftp.storeFileStream("half-ftp.bin");
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < 20; i++) {
            data.write(chunk);
        }
        data.flush();
        Thread.sleep(300);
        // The client dies: the control connection goes first, then the data connection.
        ftp.disconnect();
        Thread.sleep(200);
        data.close();
        waitForNoActiveTransfers();
        assertFalse(exists(client, "alice/half-ftp.bin"));
        assertEquals(0, multipartUploads(client));
    }

    private static void waitForNoActiveTransfers() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (!gateway.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(gateway.meter().active().isEmpty(), "transfers still active: " + gateway.meter().active().size());
    }

    /** 60 MiB goes as one streamed PutObject, 200 MiB in parts: both meet the outage alike. */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {60L << 20, 200L << 20})
    void aBackendStoppedMidUploadGivesAClearErrorLeavesNothingAndTheGatewayGoesOn(long size) throws Exception {
        try (S3ProxyFixture own = S3ProxyFixture.start(S3ProxyFixture.Provider.FILESYSTEM)) {
            own.createBucket(BUCKET);
            S3Client ownClient = own.client();
            try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml(own, "53360-53380", dir.resolve("ledger-own-" + size))))) {
                HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + "/files/outage.bin"))
                        .header("Authorization", auth())
                        .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                                () -> new StoppingStream(size, 40L << 20, own)), size))
                        .build();
                HttpResponse<String> r;
                String[] answer = {null};
                try {
                    r = HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.ofString());
                } catch (IOException e) {
                    r = null; // the gateway may close the connection after answering mid-body
                }
                answer[0] = r == null ? "connection closed" : r.statusCode() + " " + r.body();
                if (r != null) {
                    assertTrue(r.statusCode() == 502 || r.statusCode() == 503, r.statusCode() + " " + r.body());
                    assertTrue(r.body().contains("\"error\":\"backend_"), r.body());
                }
                // FTP meets the same outage with a 451, before any data is sent: no transfer begins.
                FTPClient ftp = ftp(g.ftpAddress().getPort());
                assertFalse(ftp.storeFile("outage-ftp.bin", new ByteArrayInputStream(new byte[20 << 20])));
                assertEquals(451, ftp.getReplyCode(), ftp.getReplyString());

                own.restart();
                assertTrue(ftp.storeFile("after.bin", new ByteArrayInputStream("back".getBytes())), ftp.getReplyString());
                ftp.disconnect();
                assertFalse(exists(ownClient, "alice/outage.bin"));
                assertFalse(exists(ownClient, "alice/outage-ftp.bin"));
                assertTrue(exists(ownClient, "alice/after.bin"));
                // Aborts that failed during the outage were retried once the backend answered again.
                assertEquals(0, multipartUploads(ownClient));
                long deadline = System.currentTimeMillis() + 30_000;
                while (!g.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(1, g.meter().statistics(u -> true).transferred().failedIn(),
                        () -> "http answer " + answer[0] + "; " + g.meter().statistics(u -> true) + " " + recent(g));
                assertEquals(1, g.meter().statistics(u -> true).transferred().filesIn());
            }
        }
    }

    private static String recent(Gateway g) {
        try {
            return g.meter().recent(10, null, null).toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** A body that stops the S3 server once {@code stopAt} bytes have been read. */
    static final class StoppingStream extends PatternStream {
        private final long stopAt;
        private final S3ProxyFixture server;
        private long read;

        StoppingStream(long size, long stopAt, S3ProxyFixture server) {
            super(size, 9);
            this.stopAt = stopAt;
            this.server = server;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            int n = super.read(b, off, len);
            if (n > 0 && read < stopAt && read + n >= stopAt) {
                server.stop();
            }
            read += Math.max(0, n);
            return n;
        }
    }

    @Test
    void twentyConcurrentUploadsOfFiftyMebibytesFitA256MebibyteHeap() throws Exception {
        Path config = GatewayProcess.writeConfig(dir, yaml(s3, "53400-53450", dir.resolve("ledger-heap")));
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
                int n = i;
                assertEquals(size, client.headObject(h -> h.bucket(BUCKET).key("alice/c" + n + ".bin")).contentLength());
            }
            log.info("20 concurrent 50 MiB uploads at -Xmx256m: peak heap used {} MiB", peakHeap.get() >> 20);
            assertTrue(peakHeap.get() > 0);
        }
    }
}
