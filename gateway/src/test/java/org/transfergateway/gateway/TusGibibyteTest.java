package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A tus upload of 1 GiB into S3 (S3Proxy) through a gateway process, interrupted three
 * times: the client's connection cut inside a PATCH, the gateway killed with SIGKILL
 * inside a PATCH and started again on the same data folder and ledger, and another cut.
 * Each time the client asks the offset (HEAD) and goes on from there. At the end the
 * object is the source byte for byte, the ledger counts one completed upload of 1 GiB,
 * nothing else is left in the bucket, and the file's Repr-Digest is the source's SHA-256.
 */
class TusGibibyteTest {
    private static final String BUCKET = "tus-gib";
    private static final long LENGTH = 1L << 30;
    private static final long MIB = 1L << 20;
    private static final String AUTH = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** The embedded SQLite ledger, not held exclusively, so that the test can read it. */
    private String ledgerUrl() {
        return "jdbc:sqlite:" + dir.resolve("ledger/ledger.db") + "?journal_mode=WAL&synchronous=NORMAL";
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void aGibibyteInterruptedThreeTimesOnceByKillingTheGatewayArrivesByteForByte() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        S3Client client = s3.client();
        String prefix = "gib" + System.nanoTime() + "/";
        Path config = GatewayProcess.writeConfig(dir, """
                data-dir: %s
                ftp: {port: 0, passive-ports: 55571-55590}
                http: {port: 0}
                storage:
                  backends:
                    - {name: s3, type: s3, bucket: %s, prefix: %s, endpoint: "%s", access-key: %s, secret-key: %s}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: "%s"}
                """.formatted(dir.resolve("data"), BUCKET, prefix, s3.endpoint(), s3.accessKey(), s3.secretKey(),
                ledgerUrl()));
        Source source = new Source(7);
        String upload;
        long offset;
        try (GatewayProcess g = GatewayProcess.start(config)) {
            HttpResponse<String> created = http.send(tus(g, "/tus/").header("Upload-Length", Long.toString(LENGTH))
                    .header("Upload-Metadata", "filename " + b64("big.bin") + ",path " + b64("/in"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, created.statusCode(), created.body());
            upload = created.headers().firstValue("Location").orElseThrow();

            // 1: the connection cut inside a PATCH; the bytes that arrived are kept.
            cut(g, upload, source, 0, 300 * MIB);
            offset = awaitOffsetBeyond(g, upload, 0);
            assertTrue(offset > 0 && offset <= 300 * MIB, "offset " + offset);

            // 2: one whole PATCH, then the gateway killed inside the next.
            long chunk = 200 * MIB;
            assertEquals(offset + chunk, patch(g, upload, source, offset, chunk), g.log());
            offset += chunk;
            try (Socket s = send(g, upload, source, offset, LENGTH - offset, 150 * MIB)) {
                g.kill();
            }
        }
        try (GatewayProcess g = GatewayProcess.start(config)) {
            // What the killed PATCH brought was never recorded: the upload goes on from the last record.
            assertEquals(offset, head(g, upload), g.log());
            assertEquals(List.of(), keys(client, prefix).stream().filter(k -> k.startsWith("alice/")).toList(),
                    "nothing at the target before the last byte");

            // 3: another cut, further on.
            cut(g, upload, source, offset, 250 * MIB);
            offset = awaitOffsetBeyond(g, upload, offset);

            assertEquals(LENGTH, patch(g, upload, source, offset, LENGTH - offset), g.log());
            assertEquals(LENGTH, head(g, upload));

            byte[] expected = source.sha256();
            assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(objectSha256(client, prefix + "alice/in/big.bin")),
                    "the object is the source byte for byte");
            assertEquals(List.of("alice/in/big.bin"), keys(client, prefix), "the object, no side object");
            assertEquals(List.of(), client.listMultipartUploads(b -> b.bucket(BUCKET)).uploads(), "no multipart upload left");
            HttpResponse<Void> file = http.send(HttpRequest.newBuilder(URI.create(base(g) + "/files/in/big.bin"))
                    .header("Authorization", AUTH).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
            assertEquals(200, file.statusCode());
            assertEquals("sha-256=:" + Base64.getEncoder().encodeToString(expected) + ":",
                    file.headers().firstValue("Repr-Digest").orElse(null));
            assertEquals(List.of("http IN s3 " + LENGTH + " completed"), transfers(), "one completed upload of 1 GiB");
            assertEquals(List.of("s3 alice " + LENGTH + " 1"), stored());
            assertEquals(0, g.terminate());
        }
    }

    // ---- tus over HTTP

    private static String base(GatewayProcess g) {
        return "http://127.0.0.1:" + g.httpPort();
    }

    private static HttpRequest.Builder tus(GatewayProcess g, String path) {
        return HttpRequest.newBuilder(URI.create(base(g) + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", AUTH).header("Tus-Resumable", "1.0.0");
    }

    private long head(GatewayProcess g, String upload) throws Exception {
        HttpResponse<Void> r = http.send(tus(g, upload).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, r.statusCode());
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    /** Until the gateway has recorded what a cut PATCH brought: the offset beyond {@code before}. */
    private long awaitOffsetBeyond(GatewayProcess g, String upload, long before) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        long offset = head(g, upload);
        while (offset <= before && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            offset = head(g, upload);
        }
        assertTrue(offset > before, "the cut PATCH's bytes are kept: offset " + offset + "\n" + g.log());
        return offset;
    }

    /**
     * Opens a PATCH at {@code offset} announcing {@code announced} bytes and sends the
     * first {@code sent} of them; the socket, still open.
     */
    private static Socket send(GatewayProcess g, String upload, Source source, long offset, long announced, long sent)
            throws IOException {
        Socket s = new Socket("127.0.0.1", g.httpPort());
        OutputStream out = s.getOutputStream();
        out.write(("PATCH " + upload + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + AUTH
                + "\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: " + offset
                + "\r\nContent-Length: " + announced + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        source.write(out, offset, sent);
        out.flush();
        return s;
    }

    /** A PATCH cut off by the client after {@code sent} of the remaining bytes. */
    private static void cut(GatewayProcess g, String upload, Source source, long offset, long sent) throws IOException {
        try (Socket s = send(g, upload, source, offset, LENGTH - offset, sent)) {
            s.setSoLinger(true, 0); // a reset, as a client that goes away
        }
    }

    /** A whole PATCH of {@code length} bytes; the offset its 204 answers. */
    private static long patch(GatewayProcess g, String upload, Source source, long offset, long length) throws IOException {
        try (Socket s = send(g, upload, source, offset, length, length)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            String status = in.readLine();
            assertEquals("HTTP/1.1 204 No Content", status);
            long answered = -1;
            for (String line; (line = in.readLine()) != null && !line.isEmpty(); ) {
                if (line.regionMatches(true, 0, "Upload-Offset:", 0, 14)) {
                    answered = Long.parseLong(line.substring(14).trim());
                }
            }
            return answered;
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    // ---- what the bucket and the ledger hold

    /**
     * The keys of the bucket that name this run's prefix, without it: those under it, and
     * S3Proxy's own entries of a multipart upload in progress ({@code .mpus-...<key>-<part>}),
     * which name the upload's key; S3Proxy's folder entries left out.
     */
    private static List<String> keys(S3Client client, String prefix) {
        return client.listObjectsV2Paginator(b -> b.bucket(BUCKET)).contents().stream().map(S3Object::key)
                .filter(k -> !k.endsWith("/") && k.contains(prefix))
                .map(k -> k.startsWith(prefix) ? k.substring(prefix.length()) : k).toList();
    }

    private static byte[] objectSha256(S3Client client, String key) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = client.getObject(b -> b.bucket(BUCKET).key(key))) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return sha.digest();
    }

    private List<String> transfers() throws Exception {
        return rows("SELECT LOWER(protocol), direction, backend, bytes, outcome FROM transfers", 5);
    }

    private List<String> stored() throws Exception {
        return rows("SELECT backend, user_name, bytes, objects FROM stored_totals WHERE bytes <> 0 OR objects <> 0", 4);
    }

    private List<String> rows(String sql, int columns) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(ledgerUrl()); ResultSet r = db.createStatement().executeQuery(sql)) {
            while (r.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    row.add(r.getString(i));
                }
                out.add(String.join(" ", row));
            }
        }
        return out;
    }

    /**
     * The upload's bytes, generated block by block from a seed: any range can be written
     * from any offset without holding the whole in memory.
     */
    private static final class Source {
        private static final int BLOCK = 1 << 20;
        private final long seed;

        Source(long seed) {
            this.seed = seed;
        }

        private byte[] block(long index) {
            byte[] b = new byte[BLOCK];
            new Random(seed * 1_000_003 + index).nextBytes(b);
            return b;
        }

        void write(OutputStream out, long from, long length) throws IOException {
            long at = from;
            long end = from + length;
            while (at < end) {
                int skip = (int) (at % BLOCK);
                int n = (int) Math.min(BLOCK - skip, end - at);
                out.write(block(at / BLOCK), skip, n);
                at += n;
            }
        }

        byte[] sha256() throws Exception {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (long i = 0; i < LENGTH / BLOCK; i++) {
                sha.update(block(i));
            }
            return sha.digest();
        }
    }
}
