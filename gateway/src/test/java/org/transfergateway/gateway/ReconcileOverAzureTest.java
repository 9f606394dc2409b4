package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.util.BinaryData;
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
import org.transfergateway.storage.testing.AzuriteFixture;

/**
 * {@code reconcile} over an Azure container (Azurite): the ledger and the container agree
 * after uploads, a blob added and one removed behind the gateway's back show up as drift,
 * and {@code --fix} adopts the container's figures.
 */
class ReconcileOverAzureTest {
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
        AzuriteFixture azurite = AzuriteFixture.shared();
        var container = azurite.createContainer("reconcile");
        String yaml = """
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: blob, type: azure, container: reconcile, prefix: rc/, endpoint: "%s",
                       account-name: %s, account-key: "%s"}
                users:
                  - {name: alice, password: a-pw, backend: blob}
                ledger: {url: %s}
                """.formatted(azurite.endpoint(), AzuriteFixture.ACCOUNT, AzuriteFixture.KEY, dir.resolve("ledger"));
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, yaml);
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            assertEquals(201, put(g, "/one.bin", 1000));
            assertEquals(201, put(g, "/sub/two.bin", 2000));
            assertEquals(201, put(g, "/three.bin", 3000));
        }
        try {
            CommandLineTest.Result clean = CommandLineTest.run("", "reconcile", "--config", config.toString());
            assertEquals(0, clean.status(), clean.out() + clean.err());
            assertTrue(clean.out().contains("no drift"), clean.out());

            container.getBlobClient("rc/alice/sneaked-in.bin").upload(BinaryData.fromBytes(new byte[123]), true);
            container.getBlobClient("rc/alice/three.bin").delete();

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
        } finally {
            azurite.deleteContainer("reconcile");
        }
    }
}
