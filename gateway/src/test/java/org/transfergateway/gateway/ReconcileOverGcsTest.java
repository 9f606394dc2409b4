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
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * {@code reconcile} over a GCS bucket (the fake GCS server): the ledger and the bucket
 * agree after uploads, an object added and one removed behind the gateway's back show up
 * as drift, and {@code --fix} adopts the bucket's figures.
 */
class ReconcileOverGcsTest {
    @TempDir
    Path dir;

    private static int put(Gateway g, String path, int size) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("alice:a-pw".getBytes(StandardCharsets.UTF_8)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void driftMadeBehindTheGatewaysBackIsReportedAndFixed() throws Exception {
        try (FakeGcsServer fake = FakeGcsServer.start()) {
            fake.createBucket("reconcile");
            driftIsReportedAndFixed(fake);
            assertEquals(java.util.List.of(), fake.takeRejected());
        }
    }

    private void driftIsReportedAndFixed(FakeGcsServer fake) throws Exception {
        String yaml = """
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: blob, type: gcs, bucket: reconcile, prefix: rc/, project: test-project, endpoint: "%s"}
                users:
                  - {name: alice, password: a-pw, backend: blob}
                ledger: {url: %s}
                """.formatted(fake.endpoint(), dir.resolve("ledger"));
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, yaml);
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            assertEquals(201, put(g, "/one.bin", 1000));
            assertEquals(201, put(g, "/sub/two.bin", 2000));
            assertEquals(201, put(g, "/three.bin", 3000));
        }
        {
            CommandLineTest.Result clean = CommandLineTest.run("", "reconcile", "--config", config.toString());
            assertEquals(0, clean.status(), clean.out() + clean.err());
            assertTrue(clean.out().contains("no drift"), clean.out());

            fake.put("reconcile", "rc/alice/sneaked-in.bin", new byte[123]);
            HttpResponse<Void> deleted = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fake.endpoint()
                    + "/storage/v1/b/reconcile/o/rc%2Falice%2Fthree.bin")).DELETE().build(), HttpResponse.BodyHandlers.discarding());
            assertEquals(204, deleted.statusCode());

            CommandLineTest.Result drift = CommandLineTest.run("", "reconcile", "--config", config.toString());
            assertEquals(1, drift.status(), drift.out() + drift.err());
            assertTrue(drift.out().lines().anyMatch(l -> l.matches("blob\\s+alice\\s+6000\\s+3123\\s+-2877\\s+3\\s+3\\s+0")), drift.out());

            CommandLineTest.Result fixed = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
            assertEquals(1, fixed.status());
            assertTrue(fixed.out().contains("fixed"), fixed.out());
            assertEquals(0, CommandLineTest.run("", "reconcile", "--config", config.toString()).status());

            try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
                var stored = g.meter().statistics(u -> true).storedByUser();
                assertEquals(3123, stored.get("alice").bytes());
                assertEquals(3, stored.get("alice").objects());
            }
        }
    }
}
