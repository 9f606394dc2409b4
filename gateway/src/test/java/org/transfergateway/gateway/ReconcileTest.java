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
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * {@code reconcile} against a real S3 server and a real folder: objects added and removed
 * behind the gateway's back show up as drift, nothing else does, and {@code --fix}
 * adopts the backends' figures.
 */
class ReconcileTest {
    @TempDir
    Path dir;

    private static int put(Gateway g, String user, String password, String path, int size) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void driftMadeBehindTheGatewaysBackIsReportedAndFixed() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
        s3.createBucket("reconcile");
        String yaml = """
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: archive, type: s3, bucket: reconcile, prefix: rc/, endpoint: "%s", path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                    - {name: disk, type: local, root: %s}
                users:
                  - {name: alice, password: a-pw, backend: archive}
                  - {name: bob, password: b-pw, backend: disk}
                ledger: {url: %s}
                """.formatted(s3.endpoint(), s3.accessKey(), s3.secretKey(), dir.resolve("files"), dir.resolve("ledger"));
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, yaml);
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            assertEquals(201, put(g, "alice", "a-pw", "/one.bin", 1000));
            assertEquals(201, put(g, "alice", "a-pw", "/sub/two.bin", 2000));
            assertEquals(201, put(g, "bob", "b-pw", "/three.bin", 3000));
            assertEquals(201, put(g, "bob", "b-pw", "/four.bin", 4000));
        }

        CommandLineTest.Result clean = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, clean.status(), clean.out() + clean.err());
        assertTrue(clean.out().contains("no drift"), clean.out());

        // Behind the gateway's back: an object added in S3, a file removed from disk.
        s3.client().putObject(p -> p.bucket("reconcile").key("rc/alice/sneaked-in.bin"), RequestBody.fromBytes(new byte[123]));
        Files.delete(dir.resolve("files/bob/four.bin"));

        CommandLineTest.Result drift = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(1, drift.status(), drift.out() + drift.err());
        assertTrue(drift.out().lines().anyMatch(l -> l.matches("archive\\s+alice\\s+3000\\s+3123\\s+\\+123\\s+2\\s+3\\s+\\+1")), drift.out());
        assertTrue(drift.out().lines().anyMatch(l -> l.matches("disk\\s+bob\\s+7000\\s+3000\\s+-4000\\s+2\\s+1\\s+-1")), drift.out());
        assertTrue(drift.out().contains("2 of 2 drift"), drift.out());

        CommandLineTest.Result fixed = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
        assertEquals(1, fixed.status());
        assertTrue(fixed.out().contains("fixed"), fixed.out());

        CommandLineTest.Result after = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, after.status(), after.out());

        // The gateway starts from the adopted figures.
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            var stored = g.meter().statistics(u -> true).storedByUser();
            assertEquals(3123, stored.get("alice").bytes());
            assertEquals(3, stored.get("alice").objects());
            assertEquals(3000, stored.get("bob").bytes());
            assertEquals(1, stored.get("bob").objects());
        }
    }
}
