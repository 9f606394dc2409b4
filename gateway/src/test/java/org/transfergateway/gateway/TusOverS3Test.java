package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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
 * tus uploads through the whole gateway into a real S3 server (S3Proxy), the ledger on
 * SQLite, staged on S3 (one multipart upload, the tail in a side object): nothing at the
 * target before the last byte, the exact object after it, no multipart upload or side
 * object left, exact totals; and tus-js-client (the reference client, under Node)
 * stopped at random offsets with the gateway restarted between its runs, resuming each
 * time at the offset the gateway recorded. tus-js-client is installed from npm into a
 * temporary folder; without Node or the npm registry that test is skipped and says why.
 */
class TusOverS3Test {
    private static final String BUCKET = "tus-it";
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

    private void start(String name) throws Exception {
        // S3Proxy's bucket outlives a run: each run writes under a prefix of its own.
        prefix = name + System.nanoTime() + "/";
        config = new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                data-dir: %s
                ftp:
                  enabled: false
                http:
                  port: 0
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
                  - {name: alice, password: secret, backend: archive}
                """.formatted(data, BUCKET, prefix, s3.endpoint()));
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

    private String base() {
        return "http://127.0.0.1:" + gateway.httpAddress().getPort();
    }

    private HttpRequest.Builder tus(String path) {
        return HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", AUTH).header("Tus-Resumable", "1.0.0");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The objects under this test's prefix, without it; S3Proxy's folder entries (ending in /) left out. */
    private List<String> keys() {
        return s3client.listObjectsV2(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream().map(S3Object::key)
                .filter(k -> !k.endsWith("/")).map(k -> k.substring(prefix.length())).toList();
    }

    /**
     * The users' objects under this test's prefix: without the side objects that hold the
     * tails of staged uploads between requests, which lie outside every user's home.
     */
    private List<String> userKeys() {
        return keys().stream().filter(k -> !k.startsWith(".gateway-staging/")).toList();
    }

    private List<String> openMultipartUploads() {
        return s3client.listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).uploads().stream()
                .map(u -> u.key().substring(prefix.length())).toList();
    }

    private byte[] object(String key) {
        return s3client.getObjectAsBytes(b -> b.bucket(BUCKET).key(prefix + key)).asByteArray();
    }

    private Counters http() {
        return gateway.meter().statistics(u -> true).byProtocol().get("http");
    }

    private long partFiles() throws IOException {
        Path dir = data.resolve("tus");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void aMultipartSizedUploadAppearsInTheBucketOnlyWithItsLastByte() throws Exception {
        start("chunks");
        byte[] bytes = new byte[12 * 1024 * 1024 + 17];
        new Random(11).nextBytes(bytes);
        HttpResponse<String> created = client.send(tus("/tus/").header("Upload-Length", Integer.toString(bytes.length))
                .header("Upload-Metadata", "filename " + b64("big.bin") + ",path " + b64("/in"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
        String upload = created.headers().firstValue("Location").orElseThrow();
        int chunk = 4 * 1024 * 1024;
        for (int off = 0; off < bytes.length; off += chunk) {
            int n = Math.min(chunk, bytes.length - off);
            if (off + n < bytes.length) {
                assertEquals(List.of(), userKeys(), "nothing in the bucket before the last byte");
                assertEquals(List.of("alice/in/big.bin"), openMultipartUploads(),
                        "one multipart upload at the target");
            }
            HttpResponse<String> r = client.send(tus(upload).header("Upload-Offset", Integer.toString(off))
                    .header("Content-Type", "application/offset+octet-stream")
                    .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes, off, n)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(204, r.statusCode(), r.body());
            assertEquals(Integer.toString(off + n), r.headers().firstValue("Upload-Offset").orElseThrow());
        }
        assertEquals(List.of("alice/in/big.bin"), keys(), "the object, and no side object left");
        assertEquals(List.of(), openMultipartUploads(), "no multipart upload left");
        assertArrayEquals(bytes, object("alice/in/big.bin"));
        assertEquals(new Counters(bytes.length, 0, 1, 0, 0, 0), http());
        assertEquals(new StoredTotals(bytes.length, 1), gateway.meter().statistics(u -> true).stored());
        assertEquals(0, partFiles());
    }

    /**
     * Installs tus-js-client into a temporary folder; skips the test when that cannot be
     * done, or fails it where GATEWAY_TEST_REQUIRE_CLIENTS=1 (CI) requires real clients.
     */
    private static Path tusJsClient(Path dir) throws Exception {
        RealClients.require("node", "--version");
        RealClients.require("npm", "--version");
        Process p = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                "tus-js-client@4.3.1").directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        boolean installed = done && p.exitValue() == 0;
        if (!installed && "1".equals(System.getenv("GATEWAY_TEST_REQUIRE_CLIENTS"))) {
            fail("tus-js-client could not be installed from npm, and GATEWAY_TEST_REQUIRE_CLIENTS=1 requires it: " + out);
        }
        Assumptions.assumeTrue(installed, "tus-js-client could not be installed from npm (no network?): " + out);
        Path script = dir.resolve("upload.js");
        Files.writeString(script, """
                // Uploads a file with tus-js-client; goes on to the end, or stops once stopAt
                // bytes were accepted (mode abort: between chunks, as the client's abort()
                // does) or sent (mode exit: the process ends at once, inside a chunk).
                // Prints STOPPED/EXITED/DONE and the upload's URL.
                const tus = require('tus-js-client');
                const fs = require('fs');
                const [endpoint, uploadUrl, file, stopAt, chunkSize, auth, mode] = process.argv.slice(2);
                let stopped = false;
                const upload = new tus.Upload(fs.readFileSync(file), {
                  endpoint,
                  uploadUrl: uploadUrl === '-' ? null : uploadUrl,
                  headers: { Authorization: auth },
                  metadata: { filename: 'js.bin', path: '/tusjs' },
                  chunkSize: Number(chunkSize),
                  retryDelays: null,
                  storeFingerprintForResuming: false,
                  onProgress(sent, total) {
                    if (mode === 'exit' && sent >= Number(stopAt) && sent < total) {
                      console.log('EXITED ' + upload.url + ' 0');
                      process.exit(0);
                    }
                  },
                  onChunkComplete(size, accepted, total) {
                    if (mode === 'abort' && !stopped && accepted >= Number(stopAt) && accepted < total) {
                      stopped = true;
                      upload.abort().then(() => console.log('STOPPED ' + upload.url + ' ' + accepted));
                    }
                  },
                  onSuccess() { console.log('DONE ' + upload.url); },
                  onError(e) { console.log('ERROR ' + e); process.exitCode = 1; },
                });
                upload.start();
                """);
        return script;
    }

    private static String run(Path script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node", script.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(script.getParent().toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node did not end: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void tusJsClientResumesAtRandomOffsetsAcrossRestarts(@TempDir Path js) throws Exception {
        Path script = tusJsClient(js);
        start("js");
        Random random = new Random();
        long seed = random.nextLong();
        random = new Random(seed);
        // Each round goes at most 1 MiB past the last offset, plus one chunk (< 1 MiB): the
        // four rounds stop within 8 MiB, always before the end.
        byte[] bytes = new byte[12 * 1024 * 1024 + random.nextInt(100_000)];
        random.nextBytes(bytes);
        Path file = js.resolve("js.bin");
        Files.write(file, bytes);
        String url = "-";
        long accepted = 0;
        // Rounds stop by turns between chunks and, the process ending at once, inside one.
        for (int round = 0; round < 4; round++) {
            int chunk = 64 * 1024 + random.nextInt(900 * 1024); // below 1 MiB
            long stopAt = accepted + 1 + random.nextInt(1024 * 1024);
            boolean exit = round % 2 == 1;
            String out = run(script, base() + "/tus/", url, file.toString(), Long.toString(stopAt), Integer.toString(chunk), AUTH,
                    exit ? "exit" : "abort");
            assertTrue(out.startsWith(exit ? "EXITED " : "STOPPED "), "seed " + seed + ": " + out);
            String[] parts = out.split("\\s+");
            url = parts[1];
            accepted = Math.max(accepted, Long.parseLong(parts[2]));
            assertEquals(List.of(), userKeys(), "seed " + seed + ": nothing in the bucket before the last byte");
            String path = URI.create(url).getPath();
            restart();
            // The gateway listens on another port after a restart: the same upload, its new address.
            url = base() + path;
            HttpResponse<Void> head = client.send(tus(path).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
            long offset = Long.parseLong(head.headers().firstValue("Upload-Offset").orElseThrow());
            assertTrue(offset >= accepted, "seed " + seed + ": the offset " + offset + " keeps the " + accepted
                    + " bytes accepted");
            accepted = offset;
        }
        String out = run(script, base() + "/tus/", url, file.toString(), Long.toString(Long.MAX_VALUE), "1048576", AUTH,
                "abort");
        assertTrue(out.startsWith("DONE "), "seed " + seed + ": " + out);
        assertEquals(List.of("alice/tusjs/js.bin"), keys(), "the object, and no side object left");
        assertEquals(List.of(), openMultipartUploads(), "no multipart upload left");
        assertArrayEquals(bytes, object("alice/tusjs/js.bin"), "seed " + seed);
        assertEquals(new Counters(bytes.length, 0, 1, 0, 0, 0), http(), "seed " + seed + ": every byte counted once");
        assertEquals(0, partFiles());
    }
}
