package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * {@code reconcile --verify} against a real S3 server (S3Proxy) and a real folder: files
 * uploaded over HTTP verify against the SHA-256 the ledger recorded; content altered
 * behind the gateway's back, at the same size (so that the totals do not drift), is
 * reported with both digests and exit 1; {@code --fix} forgets those digests; the reads
 * count as no transfer.
 */
class ReconcileVerifyTest {
    @TempDir
    Path dir;

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static int put(Gateway g, String user, String password, String path, byte[] body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void contentAlteredBehindTheGatewaysBackIsReportedByItsDigest() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
        s3.createBucket("verify");
        String yaml = """
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: archive, type: s3, bucket: verify, prefix: v/, endpoint: "%s", path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                    - {name: disk, type: local, root: %s}
                users:
                  - {name: alice, password: a-pw, backend: archive}
                  - {name: bob, password: b-pw, backend: disk}
                ledger: {url: %s}
                """.formatted(s3.endpoint(), s3.accessKey(), s3.secretKey(), dir.resolve("files"), dir.resolve("ledger"));
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, yaml);
        byte[] one = random(7 * 1024 * 1024, 1);
        byte[] two = random(2000, 2);
        byte[] three = random(3000, 3);
        byte[] four = random(4000, 4);
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            assertEquals(201, put(g, "alice", "a-pw", "/one.bin", one));
            assertEquals(201, put(g, "alice", "a-pw", "/sub/two.bin", two));
            assertEquals(201, put(g, "bob", "b-pw", "/three.bin", three));
            assertEquals(201, put(g, "bob", "b-pw", "/four.bin", four));
        }

        CommandLineTest.Result clean = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--verify");
        assertEquals(0, clean.status(), clean.out() + clean.err());
        assertTrue(clean.out().contains("verified 4 recorded digests\nno drift"), clean.out());

        // Behind the gateway's back, each at the same size: the totals cannot see it.
        byte[] altered = random(one.length, 11);
        s3.client().putObject(p -> p.bucket("verify").key("v/alice/one.bin"), RequestBody.fromBytes(altered));
        byte[] flipped = three.clone();
        flipped[1500] ^= 1;
        Files.write(dir.resolve("files/bob/three.bin"), flipped);

        CommandLineTest.Result plain = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, plain.status(), "without --verify only the totals count: " + plain.out());

        CommandLineTest.Result drift = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--verify");
        assertEquals(1, drift.status(), drift.out() + drift.err());
        assertTrue(drift.out().contains("digest mismatch: backend=archive key=alice/one.bin ledger sha256=" + sha256(one)
                + " size=" + one.length + ", backend sha256=" + sha256(altered) + " size=" + one.length + "\n"), drift.out());
        assertTrue(drift.out().contains("digest mismatch: backend=disk key=bob/three.bin ledger sha256=" + sha256(three)
                + " size=3000, backend sha256=" + sha256(flipped) + " size=3000\n"), drift.out());
        assertTrue(drift.out().contains("verified 4 recorded digests\n2 digest mismatches\n"), drift.out());

        CommandLineTest.Result fixed = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--verify", "--fix");
        assertEquals(1, fixed.status(), fixed.out());
        assertTrue(fixed.out().contains("forgot the digest of backend=disk key=bob/three.bin"), fixed.out());
        CommandLineTest.Result after = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--verify");
        assertEquals(0, after.status(), after.out());
        assertTrue(after.out().contains("verified 2 recorded digests\nno drift"), after.out());

        // Reading every object to verify it was no download.
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            Counters c = g.meter().statistics(u -> true).transferred();
            assertEquals(new Counters(one.length + two.length + three.length + four.length, 0, 4, 0, 0, 0), c);
        }
    }
}
