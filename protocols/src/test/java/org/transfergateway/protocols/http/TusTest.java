package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.LedgerConfig;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * tus 1.0.0 under /tus/ on local disk, the ledger on SQLite, driven with java.net.http and a
 * raw socket: the exact status codes and headers of the core protocol and of creation,
 * creation-with-upload, termination, checksum and expiration; the file appearing only at
 * the last byte; resuming after a cut-off chunk and after a restart of the front end and
 * the ledger; and the exact totals of each way an upload ends.
 */
class TusTest {
    private static final String ALICE = HttpFixture.basic("alice", "secret");
    private static final String ADMIN = HttpFixture.basic("admin", "admin-secret");

    @TempDir
    Path dir;
    private GatewayConfig config;
    private JdbcLedger ledger;
    private TransferMeter meter;
    private HttpFrontEnd frontEnd;
    private int port;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private void start(String sections) throws Exception {
        config = HttpFixture.config(dir, sections);
        ledger = JdbcLedger.open(new LedgerConfig(dir.resolve("data").toString()).jdbcUrl(), Clock.systemUTC());
        meter = new TransferMeter(ledger);
        HttpFrontEnd f = new HttpFrontEnd(config.http(), config.limits(),
                HttpFixture.accounts(config, dir.resolve("files"), meter), () -> "");
        frontEnd = clock == null ? f.withTus(config.tus(), partDir()) : f.withTus(config.tus(), partDir(), clock, false);
        port = frontEnd.start().getPort();
    }

    /** A clock the test moves; tus runs on it without its sweeper when set before start. */
    private static final class MovableClock extends Clock {
        private volatile java.time.Instant now = java.time.Instant.now();

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public java.time.Instant instant() {
            return now;
        }
    }

    private MovableClock clock;

    private void start() throws Exception {
        start("limits:\n  max-upload-size: 10MiB\n");
    }

    private void stop() {
        if (frontEnd != null) {
            frontEnd.close();
            frontEnd = null;
        }
        if (ledger != null) {
            ledger.close();
            ledger = null;
        }
    }

    @AfterEach
    void tearDown() {
        stop();
    }

    private Path partDir() {
        return dir.resolve("data").resolve("tus");
    }

    private Path stored(String userPath) {
        return dir.resolve("files").resolve("alice" + userPath);
    }

    private HttpRequest.Builder req(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", ALICE);
    }

    private HttpRequest.Builder tus(String path) {
        return req(path).header("Tus-Resumable", "1.0.0");
    }

    private HttpResponse<String> send(HttpRequest r) throws Exception {
        return client.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** POST without a body; the upload's URL path. */
    private String create(long length, String metadata) throws Exception {
        HttpResponse<String> r = send(tus("/tus/").header("Upload-Length", Long.toString(length))
                .header("Upload-Metadata", metadata).POST(HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(201, r.statusCode(), r.body());
        String location = r.headers().firstValue("Location").orElseThrow();
        assertTrue(location.matches("/tus/[0-9a-f]{32}"), location);
        assertEquals("0", r.headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals("1.0.0", r.headers().firstValue("Tus-Resumable").orElseThrow());
        assertTrue(r.headers().firstValue("Upload-Expires").orElseThrow().endsWith(" GMT"));
        return location;
    }

    private HttpResponse<String> patch(String upload, long offset, byte[] data, int from, int to) throws Exception {
        return send(tus(upload).header("Upload-Offset", Long.toString(offset))
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data, from, to - from)).build());
    }

    private HttpResponse<String> head(String upload) throws Exception {
        return send(tus(upload).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    }

    private Counters http() {
        return meter.statistics(u -> true).byProtocol().get("http");
    }

    private StoredTotals storedTotals() {
        return meter.statistics(u -> true).stored();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private long partFiles() throws Exception {
        if (!Files.isDirectory(partDir())) {
            return 0;
        }
        try (var s = Files.list(partDir())) {
            return s.count();
        }
    }

    @Test
    void optionsAnnouncesTheVersionExtensionsAndLargestUpload() throws Exception {
        start();
        HttpResponse<String> r = send(req("/tus/").method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(204, r.statusCode());
        assertEquals("1.0.0", r.headers().firstValue("Tus-Resumable").orElseThrow());
        assertEquals("1.0.0", r.headers().firstValue("Tus-Version").orElseThrow());
        assertEquals("creation,creation-with-upload,termination,checksum,expiration",
                r.headers().firstValue("Tus-Extension").orElseThrow());
        assertEquals("sha1,md5,crc32", r.headers().firstValue("Tus-Checksum-Algorithm").orElseThrow());
        assertEquals(Long.toString(10 * 1024 * 1024), r.headers().firstValue("Tus-Max-Size").orElseThrow());
        HttpResponse<String> anonymous = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/tus/"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(401, anonymous.statusCode());
    }

    @Test
    void anUploadInThreeChunksAppearsOnlyWithItsLastByte() throws Exception {
        start();
        byte[] data = random(300_000, 1);
        String upload = create(data.length, "filename " + b64("a b.bin") + ",path " + b64("/in/sub"));
        HttpResponse<String> h = head(upload);
        assertEquals(200, h.statusCode());
        assertEquals("0", h.headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals("300000", h.headers().firstValue("Upload-Length").orElseThrow());
        assertEquals("no-store", h.headers().firstValue("Cache-Control").orElseThrow());
        assertEquals("filename " + b64("a b.bin") + ",path " + b64("/in/sub"),
                h.headers().firstValue("Upload-Metadata").orElseThrow());

        HttpResponse<String> p1 = patch(upload, 0, data, 0, 100_000);
        assertEquals(204, p1.statusCode(), p1.body());
        assertEquals("100000", p1.headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals("1.0.0", p1.headers().firstValue("Tus-Resumable").orElseThrow());
        assertEquals(204, patch(upload, 100_000, data, 100_000, 299_999).statusCode());
        assertEquals("299999", head(upload).headers().firstValue("Upload-Offset").orElseThrow());
        assertFalse(Files.exists(stored("/in/sub/a b.bin")), "nothing at the target before the last byte");
        assertFalse(Files.exists(dir.resolve("files")) && Files.walk(dir.resolve("files")).anyMatch(Files::isRegularFile),
                "nothing in the user's tree");
        assertEquals(new Counters(0, 0, 0, 0, 0, 0), http());
        assertEquals(new StoredTotals(0, 0), storedTotals());

        HttpResponse<String> last = patch(upload, 299_999, data, 299_999, 300_000);
        assertEquals(204, last.statusCode(), last.body());
        assertEquals("300000", last.headers().firstValue("Upload-Offset").orElseThrow());
        assertArrayEquals(data, Files.readAllBytes(stored("/in/sub/a b.bin")));
        assertEquals(new Counters(300_000, 0, 1, 0, 0, 0), http());
        assertEquals(new StoredTotals(300_000, 1), storedTotals());
        assertEquals(0, partFiles());
        // A client that lost the last answer learns that the upload is done, and nothing is counted again.
        HttpResponse<String> after = head(upload);
        assertEquals(200, after.statusCode());
        assertEquals("300000", after.headers().firstValue("Upload-Offset").orElseThrow());
        HttpResponse<String> again = patch(upload, 300_000, data, 0, 0);
        assertEquals(204, again.statusCode(), again.body());
        assertEquals("300000", again.headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals(409, patch(upload, 299_999, data, 299_999, 300_000).statusCode(), "the last chunk again");
        assertEquals(413, patch(upload, 300_000, data, 0, 1).statusCode());
        assertEquals(new Counters(300_000, 0, 1, 0, 0, 0), http());
        // Terminating a finished upload forgets the upload, not its file.
        assertEquals(204, send(tus(upload).DELETE().build()).statusCode());
        assertEquals(404, head(upload).statusCode());
        assertArrayEquals(data, Files.readAllBytes(stored("/in/sub/a b.bin")));
        assertEquals(new Counters(300_000, 0, 1, 0, 0, 0), http());
        assertEquals(new StoredTotals(300_000, 1), storedTotals());
        // The file is an ordinary one: downloadable under /files.
        HttpResponse<byte[]> got = client.send(req("/files/in/sub/a%20b.bin").GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertArrayEquals(data, got.body());
    }

    @Test
    void refusalsHaveTheirTusStatusesAndChangeNothing() throws Exception {
        start();
        byte[] data = random(1000, 2);
        String upload = create(1000, "filename " + b64("r.bin"));
        assertEquals(204, patch(upload, 0, data, 0, 300).statusCode());

        HttpResponse<String> noVersion = send(req(upload).header("Upload-Offset", "300")
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data, 300, 10)).build());
        assertEquals(412, noVersion.statusCode());
        assertEquals("1.0.0", noVersion.headers().firstValue("Tus-Version").orElseThrow());
        HttpResponse<String> wrongType = send(tus(upload).header("Upload-Offset", "300")
                .header("Content-Type", "application/octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data, 300, 10)).build());
        assertEquals(415, wrongType.statusCode());
        assertEquals(409, patch(upload, 0, data, 0, 300).statusCode(), "a chunk already accepted, sent again");
        assertEquals(409, patch(upload, 301, data, 301, 400).statusCode(), "a gap");
        assertEquals(413, patch(upload, 300, new byte[701], 0, 701).statusCode(), "beyond Upload-Length, announced");
        assertEquals(new Counters(0, 0, 0, 0, 0, 0), http(), "refused before its body");
        HttpResponse<String> chunked = send(tus(upload).header("Upload-Offset", "300")
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(new byte[701])))
                .build());
        assertEquals(413, chunked.statusCode(), "beyond Upload-Length, found while reading");
        HttpResponse<String> other = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + upload))
                .header("Authorization", ADMIN).header("Tus-Resumable", "1.0.0")
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(404, other.statusCode(), "another user's upload is not found");
        assertEquals(404, head("/tus/0123456789abcdef0123456789abcdef").statusCode());
        assertEquals("300", head(upload).headers().firstValue("Upload-Offset").orElseThrow());

        assertEquals(400, send(tus("/tus/").header("Upload-Metadata", "filename " + b64("x"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode(), "no Upload-Length");
        assertEquals(400, send(tus("/tus/").header("Upload-Length", "5").header("Upload-Metadata", "path " + b64("/a"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode(), "no filename");
        assertEquals(400, send(tus("/tus/").header("Upload-Length", "5").header("Upload-Metadata", "filename ***")
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode(), "not base64");
        assertEquals(400, send(tus("/tus/").header("Upload-Length", "5").header("Upload-Metadata", "filename "
                + b64("x") + ",path " + b64("/../../etc")).POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode(),
                "outside the home");
        assertEquals(413, send(tus("/tus/").header("Upload-Length", Long.toString(10 * 1024 * 1024 + 1))
                .header("Upload-Metadata", "filename " + b64("big")).POST(HttpRequest.BodyPublishers.noBody()).build())
                .statusCode(), "over Tus-Max-Size");
        assertEquals(412, send(req("/tus/").header("Upload-Length", "5").header("Upload-Metadata", "filename " + b64("x"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode());

        // The chunked 413 chunk arrived (701 bytes) and was thrown away: one failed transfer.
        assertEquals(new Counters(701, 0, 0, 0, 1, 0), http());
        assertEquals(204, patch(upload, 300, data, 300, 1000).statusCode());
        assertArrayEquals(data, Files.readAllBytes(stored("/r.bin")));
        assertEquals(new Counters(1701, 0, 1, 0, 1, 0), http());
    }

    @Test
    void terminationLeavesNothingAndCountsOneFailedTransfer() throws Exception {
        start();
        byte[] data = random(1000, 3);
        String upload = create(1000, "filename " + b64("t.bin"));
        assertEquals(204, patch(upload, 0, data, 0, 400).statusCode());
        HttpResponse<String> d = send(tus(upload).DELETE().build());
        assertEquals(204, d.statusCode());
        assertEquals("1.0.0", d.headers().firstValue("Tus-Resumable").orElseThrow());
        assertEquals(404, head(upload).statusCode());
        assertEquals(404, patch(upload, 400, data, 400, 1000).statusCode());
        assertEquals(404, send(tus(upload).DELETE().build()).statusCode());
        assertEquals(0, partFiles());
        assertFalse(Files.exists(stored("/t.bin")));
        assertEquals(new Counters(400, 0, 0, 0, 1, 0), http());
        assertEquals(new StoredTotals(0, 0), storedTotals());
    }

    @Test
    void anUploadResumesAtTheRecordedOffsetAfterARestart() throws Exception {
        start();
        byte[] data = random(200_000, 4);
        String upload = create(data.length, "filename " + b64("restart.bin"));
        assertEquals(204, patch(upload, 0, data, 0, 70_000).statusCode());
        stop();
        // A crash between a chunk's write and its record leaves bytes past the offset.
        Path part = partDir().resolve(upload.substring("/tus/".length()) + ".part");
        Files.write(part, new byte[5000], StandardOpenOption.APPEND);
        start();
        HttpResponse<String> h = head(upload);
        assertEquals(200, h.statusCode());
        assertEquals("70000", h.headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals(204, patch(upload, 70_000, data, 70_000, 200_000).statusCode());
        assertArrayEquals(data, Files.readAllBytes(stored("/restart.bin")));
        stop();
        start();
        assertEquals(new Counters(200_000, 0, 1, 0, 0, 0), http(), "counted once, and kept across the restart");
        assertEquals(new StoredTotals(200_000, 1), storedTotals());
    }

    @Test
    void aChunkCutOffMidwayKeepsTheBytesThatArrived() throws Exception {
        start();
        byte[] data = random(5000, 5);
        String upload = create(data.length, "filename " + b64("cut.bin"));
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PATCH " + upload + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + ALICE
                    + "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                    + "Content-Length: 3000\r\n\r\n");
            out.write(data, 0, 1800);
            out.flush();
            // Wait until the server has the bytes, then cut the connection.
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            Path part = partDir().resolve(upload.substring("/tus/".length()) + ".part");
            while (Files.size(part) < 1800 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String offset = "";
        while (System.nanoTime() < deadline) {
            offset = head(upload).headers().firstValue("Upload-Offset").orElse("");
            if (offset.equals("1800")) {
                break;
            }
        }
        assertEquals("1800", offset);
        assertEquals(204, patch(upload, 1800, data, 1800, 5000).statusCode());
        assertArrayEquals(data, Files.readAllBytes(stored("/cut.bin")));
        assertEquals(new Counters(5000, 0, 1, 0, 0, 0), http());
    }

    @Test
    void checksumsAreCheckedAndAMismatchDiscardsTheChunk() throws Exception {
        start();
        byte[] data = random(3000, 6);
        String upload = create(data.length, "filename " + b64("sum.bin"));
        byte[] first = Arrays.copyOfRange(data, 0, 1000);
        HttpResponse<String> sha1 = send(tus(upload).header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Checksum", "sha1 " + Base64.getEncoder().encodeToString(
                        MessageDigest.getInstance("SHA-1").digest(first)))
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(first)).build());
        assertEquals(204, sha1.statusCode(), sha1.body());
        byte[] second = Arrays.copyOfRange(data, 1000, 2000);
        HttpResponse<String> wrong = send(tus(upload).header("Upload-Offset", "1000")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Checksum", "md5 " + Base64.getEncoder().encodeToString(
                        MessageDigest.getInstance("MD5").digest(first)))
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(second)).build());
        assertEquals(460, wrong.statusCode());
        assertEquals("1000", head(upload).headers().firstValue("Upload-Offset").orElseThrow(), "the offset stays");
        assertEquals(new Counters(1000, 0, 0, 0, 1, 0), http(), "the discarded chunk: one failed transfer");
        assertEquals(400, send(tus(upload).header("Upload-Offset", "1000")
                .header("Content-Type", "application/offset+octet-stream").header("Upload-Checksum", "sha256 AAAA")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(second)).build()).statusCode());
        CRC32 crc = new CRC32();
        crc.update(data, 1000, 2000);
        String crc32 = Base64.getEncoder().encodeToString(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        HttpResponse<String> rest = send(tus(upload).header("Upload-Offset", "1000")
                .header("Content-Type", "application/offset+octet-stream").header("Upload-Checksum", "crc32 " + crc32)
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data, 1000, 2000)).build());
        assertEquals(204, rest.statusCode(), rest.body());
        assertArrayEquals(data, Files.readAllBytes(stored("/sum.bin")));
        assertEquals(new Counters(4000, 0, 1, 0, 1, 0), http());
    }

    @Test
    void creationWithUploadTakesTheFirstChunkOrTheWholeFile() throws Exception {
        start();
        byte[] whole = random(4096, 7);
        HttpResponse<String> r = send(tus("/tus/").header("Upload-Length", "4096")
                .header("Upload-Metadata", "filename " + b64("whole.bin"))
                .header("Content-Type", "application/offset+octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(whole)).build());
        assertEquals(201, r.statusCode(), r.body());
        assertEquals("4096", r.headers().firstValue("Upload-Offset").orElseThrow());
        assertArrayEquals(whole, Files.readAllBytes(stored("/whole.bin")));

        byte[] data = random(9000, 8);
        HttpResponse<String> first = send(tus("/tus/").header("Upload-Length", "9000")
                .header("Upload-Metadata", "filename " + b64("part.bin"))
                .header("Content-Type", "application/offset+octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(data, 0, 2500)).build());
        assertEquals(201, first.statusCode());
        assertEquals("2500", first.headers().firstValue("Upload-Offset").orElseThrow());
        String upload = first.headers().firstValue("Location").orElseThrow();
        assertEquals(204, patch(upload, 2500, data, 2500, 9000).statusCode());
        assertArrayEquals(data, Files.readAllBytes(stored("/part.bin")));
        assertEquals(415, send(tus("/tus/").header("Upload-Length", "3").header("Upload-Metadata", "filename " + b64("x"))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("abc")).build())
                .statusCode());
        assertEquals(400, send(tus("/tus/").header("Upload-Length", "3").header("Upload-Metadata", "filename " + b64("y"))
                .header("Content-Type", "application/offset+octet-stream").header("Upload-Checksum", "sha256 AAAA")
                .POST(HttpRequest.BodyPublishers.ofString("abc")).build()).statusCode());
        assertEquals(0, partFiles(), "a creation refused for its Upload-Checksum leaves no upload");
        assertEquals(new Counters(13_096, 0, 2, 0, 0, 0), http());
        assertEquals(new StoredTotals(13_096, 2), storedTotals());
    }

    @Test
    void anEmptyUploadIsCompleteAtItsCreation() throws Exception {
        start();
        String upload = create(0, "filename " + b64("empty.bin"));
        assertEquals(0, Files.size(stored("/empty.bin")));
        assertEquals("0", head(upload).headers().firstValue("Upload-Offset").orElseThrow());
        assertEquals(new Counters(0, 0, 1, 0, 0, 0), http());
        assertEquals(new StoredTotals(0, 1), storedTotals());
    }

    @Test
    void expiredUploadsAreRemovedWithTheirDataAndCountedAsFailed() throws Exception {
        // A part file no upload owns, as a crash between an upload's removal and its file's deletion leaves.
        Files.createDirectories(partDir());
        Files.write(partDir().resolve("0123456789abcdef0123456789abcdef.part"), new byte[10]);
        start("tus:\n  expiry: 2s\n");
        byte[] data = random(100, 9);
        String upload = create(100, "filename " + b64("late.bin"));
        HttpResponse<String> p = patch(upload, 0, data, 0, 10);
        assertEquals(204, p.statusCode());
        assertNotNull(p.headers().firstValue("Upload-Expires").orElse(null));
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (partFiles() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, partFiles(), "the sweeper removed the partial data, and the orphan");
        int status = head(upload).statusCode();
        assertTrue(status == 404 || status == 410, "expired: " + status);
        assertFalse(Files.exists(stored("/late.bin")));
        assertEquals(new Counters(10, 0, 0, 0, 1, 0), http());
    }

    @Test
    void anExpiredUploadIsGoneOnItsNextRequestAndCountedOnce() throws Exception {
        clock = new MovableClock();
        start("tus:\n  expiry: 1h\n");
        byte[] data = random(100, 10);
        String upload = create(100, "filename " + b64("gone.bin"));
        assertEquals(204, patch(upload, 0, data, 0, 30).statusCode());
        clock.advance(Duration.ofMinutes(59));
        assertEquals("30", head(upload).headers().firstValue("Upload-Offset").orElseThrow(), "not yet expired");
        clock.advance(Duration.ofMinutes(1));
        HttpResponse<String> late = patch(upload, 30, data, 30, 100);
        assertEquals(410, late.statusCode(), late.body());
        assertEquals(404, head(upload).statusCode(), "removed on the request that found it expired");
        assertEquals(0, partFiles());
        assertFalse(Files.exists(stored("/gone.bin")));
        assertEquals(new Counters(30, 0, 0, 0, 1, 0), http(), "one failed transfer of the bytes it had");
    }

    @Test
    void creationChecksPermissionAndQuotaBeforeAnyByte() throws Exception {
        start("""
                  - name: reader
                    password: r
                    access: read-only
                  - name: small
                    password: s
                    quota: {bytes: 1000}
                """);
        HttpResponse<String> reader = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/tus/"))
                .header("Authorization", HttpFixture.basic("reader", "r")).header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "10").header("Upload-Metadata", "filename " + b64("x"))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(403, reader.statusCode(), reader.body());
        HttpResponse<String> small = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/tus/"))
                .header("Authorization", HttpFixture.basic("small", "s")).header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "1001").header("Upload-Metadata", "filename " + b64("x"))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(413, small.statusCode(), small.body());
        assertEquals(0, partFiles());
        assertEquals(new Counters(0, 0, 0, 0, 0, 0), http());
    }

    @Test
    void aCompleteUploadThatACrashLeftUncommittedIsCommittedByTheNextHead() throws Exception {
        start();
        byte[] data = random(4000, 12);
        String upload = create(data.length, "filename " + b64("late-commit.bin"));
        String id = upload.substring("/tus/".length());
        assertEquals(204, patch(upload, 0, data, 0, 1000).statusCode());
        stop();
        // As a crash after the last chunk's offset was recorded and before its commit leaves it.
        Files.write(partDir().resolve(id + ".part"), data);
        try (JdbcLedger l = JdbcLedger.open(new LedgerConfig(dir.resolve("data").toString()).jdbcUrl(), Clock.systemUTC())) {
            assertTrue(l.advanceUpload(id, 1000, 4000));
        }
        start();
        assertFalse(Files.exists(stored("/late-commit.bin")));
        HttpResponse<String> h = head(upload);
        assertEquals(200, h.statusCode());
        assertEquals("4000", h.headers().firstValue("Upload-Offset").orElseThrow());
        assertArrayEquals(data, Files.readAllBytes(stored("/late-commit.bin")));
        assertEquals(200, head(upload).statusCode(), "finished, and not committed again");
        assertEquals(new Counters(4000, 0, 1, 0, 0, 0), http());
        assertEquals(0, partFiles());
    }

    @Test
    void aSecondRequestOnAnUploadBeingWrittenIsLocked() throws Exception {
        start();
        String upload = create(10_000, "filename " + b64("locked.bin"));
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PATCH " + upload + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + ALICE
                    + "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                    + "Content-Length: 10000\r\n\r\n");
            out.write(new byte[100]);
            out.flush();
            // Once its first bytes are written, the PATCH holds the upload until it ends.
            Path part = partDir().resolve(upload.substring("/tus/".length()) + ".part");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Files.size(part) < 100 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(423, send(tus(upload).DELETE().build()).statusCode(), "while the first PATCH is still sending");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        int status = 0;
        while (System.nanoTime() < deadline && status != 204) {
            status = send(tus(upload).DELETE().build()).statusCode();
            Thread.sleep(20);
        }
        assertEquals(204, status, "once the cut-off PATCH has ended");
        assertEquals(new Counters(100, 0, 0, 0, 1, 0), http());
    }
}
