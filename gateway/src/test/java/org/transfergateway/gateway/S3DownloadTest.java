package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Arrays;
import java.util.Map;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.CountingRelay;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * Downloads from S3 through the whole gateway, the service behind a relay that counts
 * (and can cut) what it sends: exact bytes over HTTP, WebDAV and FTP, whole and from an offset,
 * for sizes around the downloads' 256 KiB chunks; a backend that fails in
 * the middle ends the client's download short and counts one failed download with the
 * bytes the client got; a client that stops reading stops the reading from S3.
 */
class S3DownloadTest {
    private static final String BUCKET = "downloads";
    private static final int KIB = 1024;
    private static final int MIB = 1024 * 1024;
    @TempDir
    static Path dir;
    static S3ProxyFixture s3;
    static CountingRelay relay;
    static Gateway gateway;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        relay = new CountingRelay(s3.endpoint());
        String yaml = """
                ftp: {port: 0, passive-ports: 53400-53440}
                http: {port: 0}
                storage:
                  backends:
                    - {name: s3, type: s3, bucket: %s, endpoint: "%s", path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(BUCKET, relay.endpoint(), s3.accessKey(), s3.secretKey(), dir.resolve("ledger"));
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse(yaml));
    }

    @AfterAll
    static void stop() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        if (relay != null) {
            relay.close();
        }
    }

    @AfterEach
    void noCutLeft() {
        relay.reset();
    }

    /** Bytes that differ from one position to the next and from one object to another. */
    static byte[] content(int size, int seed) {
        byte[] b = new byte[size];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static String auth() {
        return "Basic " + java.util.Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    static URI url(String name) {
        return URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files/" + name);
    }

    static Counters alice() {
        return gateway.meter().statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
    }

    static void awaitIdle() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (!gateway.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(gateway.meter().active().isEmpty(), "downloads still active: " + gateway.meter().active());
    }

    static FTPClient ftp() throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(org.apache.commons.net.ftp.FTP.BINARY_FILE_TYPE);
        return c;
    }

    /**
     * Around the chunks of the HTTP front end (64 KiB first, then 256 KiB) and of FTP's
     * RETR (256 KiB), and several of them with a part of one left over.
     */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 256 * KIB - 1, 256 * KIB, 256 * KIB + 1,
            320 * KIB - 1, 320 * KIB, 320 * KIB + 1, 3 * 256 * KIB + 64 * KIB + 1, 8 * MIB + 5, 20 * MIB + 3})
    void wholeAndRangedDownloadsOverHttpWebDavAndFtpBringExactlyTheStoredBytes(int size) throws Exception {
        byte[] stored = content(size, size);
        String name = "exact-" + size + ".bin";
        s3.seed(BUCKET, "alice/" + name, stored);
        Counters before = alice();
        HttpClient http = HttpClient.newHttpClient();
        long expectedBytes = 0;
        int downloads = 0;

        HttpResponse<byte[]> whole = http.send(HttpRequest.newBuilder(url(name)).header("Authorization", auth()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, whole.statusCode());
        assertArrayEquals(stored, whole.body());
        expectedBytes += size;
        downloads++;

        // WebDAV's GET is the same download.
        HttpResponse<byte[]> dav = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + gateway.httpAddress().getPort() + "/dav/" + name)).header("Authorization", auth()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, dav.statusCode());
        assertArrayEquals(stored, dav.body());
        expectedBytes += size;
        downloads++;

        if (size > 2) {
            // From just before a chunk boundary past the next ones, and the tail from byte 1.
            long first = Math.max(1, Math.min(size - 2, 256L * KIB - 3));
            long last = Math.min(size - 1, first + 2L * MIB + 5);
            for (String range : new String[] {"bytes=" + first + "-" + last, "bytes=1-"}) {
                HttpResponse<byte[]> part = http.send(HttpRequest.newBuilder(url(name)).header("Authorization", auth())
                        .header("Range", range).build(), HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(206, part.statusCode(), range);
                long from = Long.parseLong(range.substring(6, range.indexOf('-')));
                long to = range.endsWith("-") ? size - 1 : last;
                assertArrayEquals(Arrays.copyOfRange(stored, (int) from, (int) to + 1), part.body(), range);
                expectedBytes += to + 1 - from;
                downloads++;
            }
        }

        FTPClient ftp = ftp();
        try {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            assertTrue(ftp.retrieveFile(name, got), ftp.getReplyString());
            assertArrayEquals(stored, got.toByteArray());
            expectedBytes += size;
            downloads++;
            if (size > 1) {
                long offset = Math.min(size - 1, 256L * KIB + 1);
                ftp.setRestartOffset(offset);
                got.reset();
                assertTrue(ftp.retrieveFile(name, got), ftp.getReplyString());
                assertArrayEquals(Arrays.copyOfRange(stored, (int) offset, size), got.toByteArray());
                expectedBytes += size - offset;
                downloads++;
            }
        } finally {
            ftp.disconnect();
        }
        awaitIdle();
        Counters after = alice();
        assertEquals(downloads, after.filesOut() - before.filesOut());
        assertEquals(0, after.failedOut() - before.failedOut());
        assertEquals(expectedBytes, after.bytesOut() - before.bytesOut());
    }

    /** The body of a GET read to the end of the connection or of the Content-Length, whichever comes first. */
    record Raw(int status, long length, byte[] body) {
    }

    static Raw rawGet(String name) throws Exception {
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /files/" + name + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                assertTrue(c >= 0, "connection closed in the head: " + head);
                head.append((char) c);
            }
            int status = Integer.parseInt(head.substring(9, 12));
            long length = -1;
            for (String line : head.toString().split("\r\n")) {
                if (line.toLowerCase().startsWith("content-length:")) {
                    length = Long.parseLong(line.substring(15).trim());
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * KIB];
            try {
                for (int n; body.size() < length && (n = in.read(buf, 0, (int) Math.min(buf.length, length - body.size()))) >= 0; ) {
                    body.write(buf, 0, n);
                }
            } catch (IOException e) {
                // a reset instead of a close: the body ends here too
            }
            return new Raw(status, length, body.toByteArray());
        }
    }

    @Test
    void aBackendCutMidDownloadEndsTheHttpDownloadShortAndCountsOneFailedDownload() throws Exception {
        int size = 40 * MIB;
        byte[] stored = content(size, 7);
        s3.seed(BUCKET, "alice/cut-http.bin", stored);
        Counters before = alice();
        relay.cutAfter(12 * MIB);
        Raw r = rawGet("cut-http.bin");
        assertEquals(200, r.status());
        assertEquals(size, r.length());
        assertTrue(r.body().length < size, "the whole body arrived through a cut backend");
        // What arrived is the start of the object, not other bytes.
        assertArrayEquals(Arrays.copyOf(stored, r.body().length), r.body());
        awaitIdle();
        Counters after = alice();
        assertEquals(1, after.failedOut() - before.failedOut());
        assertEquals(0, after.filesOut() - before.filesOut());
        assertEquals(r.body().length, after.bytesOut() - before.bytesOut());
    }

    @Test
    void aBackendCutMidDownloadEndsTheFtpDownloadShortAndCountsOneFailedDownload() throws Exception {
        int size = 40 * MIB;
        byte[] stored = content(size, 8);
        s3.seed(BUCKET, "alice/cut-ftp.bin", stored);
        Counters before = alice();
        FTPClient ftp = ftp();
        try {
            relay.cutAfter(12 * MIB);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            assertFalse(ftp.retrieveFile("cut-ftp.bin", got), ftp.getReplyString());
            assertTrue(ftp.getReplyCode() == 426 || ftp.getReplyCode() == 451 || ftp.getReplyCode() == 551, ftp.getReplyString());
            assertTrue(got.size() < size);
            assertArrayEquals(Arrays.copyOf(stored, got.size()), got.toByteArray());
            awaitIdle();
            Counters after = alice();
            assertEquals(1, after.failedOut() - before.failedOut());
            assertEquals(0, after.filesOut() - before.filesOut());
            assertEquals(got.size(), after.bytesOut() - before.bytesOut());
        } finally {
            ftp.disconnect();
        }
    }

    /**
     * A client that reads 1 MiB and then nothing: the gateway reads from S3 only its
     * bounded read-ahead beyond what the sockets hold, then stops until the client reads
     * on; the rest then arrives intact and the download counts once.
     */
    @Test
    void aClientThatStopsReadingStopsTheReadingFromS3() throws Exception {
        int size = 64 * MIB;
        byte[] stored = content(size, 9);
        s3.seed(BUCKET, "alice/slow.bin", stored);
        Counters before = alice();
        relay.reset();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * KIB);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", gateway.httpAddress().getPort()));
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("GET /files/slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
            byte[] got = new byte[size];
            int have = in.readNBytes(got, 0, MIB);
            // Wait until the gateway stops reading from S3 (the count stays the same for half a second).
            long previous = -1;
            long deadline = System.currentTimeMillis() + 20_000;
            while (relay.fromServer() != previous && System.currentTimeMillis() < deadline) {
                previous = relay.fromServer();
                Thread.sleep(500);
            }
            long pulled = relay.fromServer();
            assertEquals(previous, pulled, "the gateway kept reading from S3 while the client read nothing");
            // Read-ahead: 3 chunks of 256 KiB waiting and one being written, plus what the
            // sockets hold (to the client, and from S3 the SDK's response not yet read:
            // a few MiB on loopback).
            long bound = 4 * 256 * KIB + 12L * MIB;
            assertTrue(pulled - have < bound, "read " + pulled + " bytes from S3 for a client that took " + have);
            have += in.readNBytes(got, have, size - have);
            assertEquals(size, have);
            assertArrayEquals(stored, got);
        }
        awaitIdle();
        Counters after = alice();
        assertEquals(1, after.filesOut() - before.filesOut());
        assertEquals(size, after.bytesOut() - before.bytesOut());
    }
}
