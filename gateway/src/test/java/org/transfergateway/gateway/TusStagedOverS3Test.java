package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * tus uploads staged on S3 (S3Proxy) through the whole gateway: no part file on the node,
 * the tail below one part kept in a side object and read back when the upload goes on
 * after a restart (a new gateway and ledger on the same files), a chunk refused by its
 * checksum and sent again counted once in the file, termination and expiry leaving no
 * multipart upload and no side object, the quota checked at creation and at the commit (a
 * refused commit done later by HEAD from the recorded state), exact totals throughout.
 */
class TusStagedOverS3Test {
    private static final String BUCKET = "tus-staged";
    private static final String STAGING = ".gateway-staging/";
    private static final int MIB = 1024 * 1024;
    private static final String AUTH = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    private static S3ProxyFixture s3;
    private static S3Client s3client;

    @TempDir
    Path data;
    private GatewayConfig config;
    private String prefix;
    private Gateway gateway;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void s3() {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
    }

    /** A gateway with alice on the bucket; {@code extra} goes into alice's entry. */
    private void start(String name, String expiry, String extra) throws Exception {
        // S3Proxy's bucket outlives a run: each run writes under a prefix of its own.
        prefix = name + System.nanoTime() + "/";
        config = new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                data-dir: %s
                ftp:
                  enabled: false
                http:
                  port: 0
                tus:
                  expiry: %s
                storage:
                  part-size: 5MiB
                  backends:
                    - name: archive
                      type: s3
                      bucket: %s
                      prefix: %s
                      endpoint: %s
                      path-style: true
                      access-key: ${S3_ACCESS_KEY}
                      secret-key: ${S3_SECRET_KEY}
                      checksums: when-required
                users:
                  - {name: alice, password: secret, backend: archive%s}
                """.formatted(data, expiry, BUCKET, prefix, s3.endpoint(), extra));
        restart();
    }

    private void restart() throws Exception {
        stop();
        gateway = Gateway.start(config);
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
    }

    private HttpRequest.Builder tus(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + path))
                .timeout(Duration.ofSeconds(60)).header("Authorization", AUTH).header("Tus-Resumable", "1.0.0");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private HttpResponse<String> create(String file, long length) throws Exception {
        return client.send(tus("/tus/").header("Upload-Length", Long.toString(length))
                .header("Upload-Metadata", "filename " + b64(file)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String created(String file, long length) throws Exception {
        HttpResponse<String> r = create(file, length);
        assertEquals(201, r.statusCode(), r.body());
        return r.headers().firstValue("Location").orElseThrow();
    }

    private HttpResponse<String> patch(String upload, long offset, byte[] bytes, int from, int to, String checksum)
            throws Exception {
        HttpRequest.Builder b = tus(upload).header("Upload-Offset", Long.toString(offset))
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from));
        if (checksum != null) {
            b.header("Upload-Checksum", checksum);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private void patchOk(String upload, byte[] bytes, int from, int to) throws Exception {
        HttpResponse<String> r = patch(upload, from, bytes, from, to, null);
        assertEquals(204, r.statusCode(), r.body());
        assertEquals(Integer.toString(to), r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    private long offset(String upload) throws Exception {
        HttpResponse<Void> r = client.send(tus(upload).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, r.statusCode());
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    /** Every key under this test's prefix, without it; S3Proxy's folder entries left out. */
    private List<String> keys() {
        return s3client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream().map(S3Object::key)
                .filter(k -> !k.endsWith("/")).map(k -> k.substring(prefix.length())).sorted().toList();
    }

    private List<String> sideObjects() {
        return keys().stream().filter(k -> k.startsWith(STAGING)).toList();
    }

    private List<String> openMultipartUploads() {
        return s3client.listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).uploads().stream()
                .map(u -> u.key().substring(prefix.length())).toList();
    }

    private Counters http() {
        return gateway.meter().statistics(u -> true).byProtocol().getOrDefault("http", Counters.ZERO);
    }

    private StoredTotals stored() {
        return gateway.meter().statistics(u -> true).stored();
    }

    private long partFiles() throws Exception {
        Path dir = data.resolve("tus");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.list(dir)) {
            return s.count();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** An Upload-Checksum of {@code bytes}. */
    private static String sha1(byte[] bytes) throws Exception {
        return "sha1 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(bytes));
    }

    @Test
    void aTailKeptInASideObjectGoesOnAfterARestartAndARefusedChunkCountsOnlyAsFailed() throws Exception {
        start("restart", "1h", "");
        byte[] bytes = random(12 * MIB + 17, 5);
        String upload = created("r.bin", bytes.length);
        assertEquals(List.of("alice/r.bin"), openMultipartUploads(), "one multipart upload at the target from the start");

        // 3 MiB: below one part, all of it in a side object.
        patchOk(upload, bytes, 0, 3 * MIB);
        assertEquals(List.of(STAGING), sideObjects().stream().map(k -> k.substring(0, STAGING.length())).toList());
        assertTrue(sideObjects().get(0).endsWith("/" + 3 * MIB), sideObjects().toString());
        assertEquals(0, partFiles(), "nothing spooled on the node");

        restart();
        assertEquals(3 * MIB, offset(upload));
        // Read back and continued: one part of 5 MiB goes up, 2 MiB wait in a new side object; the old one is gone.
        patchOk(upload, bytes, 3 * MIB, 7 * MIB);
        assertEquals(1, sideObjects().size(), sideObjects().toString());
        assertTrue(sideObjects().get(0).endsWith("/" + 7 * MIB), sideObjects().toString());

        // A chunk whose checksum does not match is thrown away: the offset stays, its bytes count as failed.
        byte[] wrong = bytes.clone();
        wrong[8 * MIB] ^= 1;
        HttpResponse<String> refused = patch(upload, 7 * MIB, wrong, 7 * MIB, 11 * MIB, sha1(Arrays.copyOfRange(bytes, 7 * MIB, 11 * MIB)));
        assertEquals(460, refused.statusCode(), refused.body());
        assertEquals(7 * MIB, offset(upload));
        assertEquals(new Counters(4 * MIB, 0, 0, 0, 1, 0), http());

        restart();
        // Sent again, right this time, with its checksum; then the rest.
        HttpResponse<String> again = patch(upload, 7 * MIB, bytes, 7 * MIB, 11 * MIB, sha1(Arrays.copyOfRange(bytes, 7 * MIB, 11 * MIB)));
        assertEquals(204, again.statusCode(), again.body());
        assertEquals(List.of(), keys().stream().filter(k -> !k.startsWith(STAGING)).toList(), "nothing at the target yet");
        patchOk(upload, bytes, 11 * MIB, bytes.length);

        assertEquals(List.of("alice/r.bin"), keys(), "the object, no side object left");
        assertEquals(List.of(), openMultipartUploads());
        assertArrayEquals(bytes, s3client.getObjectAsBytes(b -> b.bucket(BUCKET).key(prefix + "alice/r.bin")).asByteArray());
        // The refused chunk's bytes once as failed; the file's bytes once, in one completed transfer.
        assertEquals(new Counters(4 * MIB + bytes.length, 0, 1, 0, 1, 0), http());
        assertEquals(new StoredTotals(bytes.length, 1), stored());
        HttpResponse<Void> head = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.httpAddress().getPort() + "/files/r.bin")).header("Authorization", AUTH)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertEquals("sha-256=:" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(bytes)) + ":",
                head.headers().firstValue("Repr-Digest").orElse(null), "the SHA-256 computed as the bytes arrived");
        assertEquals(0, partFiles());
    }

    /**
     * A client cut off mid-PATCH that asks the offset at once (as tus clients do) learns
     * the bytes the cut request kept, not the offset before them: HEAD waits while the
     * request is still saving its tail, so that the PATCH from there is taken, not 409.
     * Looped: the cut and the save race each time.
     */
    @Test
    void aHeadRightAfterACutPatchAnswersTheBytesItKept() throws Exception {
        start("cut", "1h", "");
        byte[] bytes = random(8 * MIB, 9);
        for (int round = 0; round < 20; round++) {
            String upload = created("cut-" + round + ".bin", bytes.length);
            int sent = MIB + round * 97_001;
            try (Socket socket = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
                OutputStream out = socket.getOutputStream();
                out.write(("PATCH " + upload + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + AUTH
                        + "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream"
                        + "\r\nContent-Length: " + bytes.length + "\r\nExpect: 100-continue\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                // 100 Continue comes once the request holds the upload.
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
                assertEquals("HTTP/1.1 100 Continue", in.readLine());
                out.write(bytes, 0, sent);
                out.flush();
            }
            assertEquals(sent, offset(upload), "round " + round);
            HttpResponse<String> rest = patch(upload, sent, bytes, sent, bytes.length, null);
            assertEquals(204, rest.statusCode(), "round " + round + ": " + rest.body());
            String key = prefix + "alice/cut-" + round + ".bin";
            assertArrayEquals(bytes, s3client.getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray());
        }
        assertEquals(List.of(), openMultipartUploads());
        assertEquals(0, sideObjects().size());
    }

    @Test
    void terminationLeavesNothingAndCountsTheBytesReceivedAsFailed() throws Exception {
        start("terminate", "1h", "");
        HttpResponse<String> badChecksum = client.send(tus("/tus/").header("Upload-Length", "3")
                .header("Upload-Metadata", "filename " + b64("x.bin")).header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Checksum", "sha256 AAAA").POST(HttpRequest.BodyPublishers.ofString("abc")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, badChecksum.statusCode(), badChecksum.body());
        assertEquals(List.of(), openMultipartUploads(), "a refused creation starts nothing");
        byte[] bytes = random(9 * MIB, 6);
        String upload = created("t.bin", bytes.length);
        patchOk(upload, bytes, 0, 7 * MIB);
        assertEquals(List.of("alice/t.bin"), openMultipartUploads());
        assertEquals(1, sideObjects().size());

        HttpResponse<String> r = client.send(tus(upload).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(204, r.statusCode(), r.body());
        assertEquals(List.of(), keys());
        assertEquals(List.of(), openMultipartUploads());
        assertEquals(404, client.send(tus(upload).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(new Counters(7 * MIB, 0, 0, 0, 1, 0), http());
        assertEquals(new StoredTotals(0, 0), stored());
    }

    @Test
    void anExpiredUploadLeavesNothing() throws Exception {
        start("expire", "3s", "");
        byte[] bytes = random(9 * MIB, 7);
        String upload = created("e.bin", bytes.length);
        patchOk(upload, bytes, 0, 6 * MIB);
        assertEquals(1, sideObjects().size());
        long deadline = System.currentTimeMillis() + 30_000;
        while ((!keys().isEmpty() || !openMultipartUploads().isEmpty() || http().failedIn() == 0)
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(List.of(), keys(), "no side object");
        assertEquals(List.of(), openMultipartUploads(), "no multipart upload");
        assertEquals(new Counters(6 * MIB, 0, 0, 0, 1, 0), http());
        assertEquals(404, client.send(tus(upload).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
    }

    @Test
    void theQuotaIsCheckedAtCreationAndAtTheCommit() throws Exception {
        start("quota", "1h", ", quota: {bytes: 10MiB}");
        HttpResponse<String> tooBig = create("big.bin", 11 * MIB);
        assertEquals(413, tooBig.statusCode(), tooBig.body());
        assertEquals(List.of(), openMultipartUploads(), "nothing started for a refused upload");

        byte[] bytes = random(8 * MIB, 8);
        String upload = created("q.bin", bytes.length);
        patchOk(upload, bytes, 0, 6 * MIB);
        // Meanwhile another file takes most of the quota: the commit no longer fits.
        HttpResponse<String> put = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.httpAddress().getPort() + "/files/other.bin")).header("Authorization", AUTH)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[3 * MIB])).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode(), put.body());
        HttpResponse<String> last = patch(upload, 6 * MIB, bytes, 6 * MIB, 8 * MIB, null);
        assertEquals(413, last.statusCode(), last.body());
        assertEquals(List.of("alice/other.bin"), keys().stream().filter(k -> !k.startsWith(STAGING)).toList(),
                "nothing at the target");
        assertEquals(new StoredTotals(3 * MIB, 1), stored());

        // Once there is room again, the next HEAD commits it from its recorded state.
        assertEquals(204, client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.httpAddress().getPort() + "/files/other.bin")).header("Authorization", AUTH).DELETE().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(bytes.length, offset(upload));
        assertEquals(List.of("alice/q.bin"), keys(), "the object, no side object");
        assertEquals(List.of(), openMultipartUploads());
        assertArrayEquals(bytes, s3client.getObjectAsBytes(b -> b.bucket(BUCKET).key(prefix + "alice/q.bin")).asByteArray());
        assertEquals(new Counters(3 * MIB + bytes.length, 0, 2, 0, 0, 0), http(), "the refused commit counted nothing");
        assertEquals(new StoredTotals(bytes.length, 1), stored());
    }
}
