package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * {@code stats} against an HTTPS gateway with a self-signed certificate: trusted with
 * {@code --cacert}, refused with one line and status 2 without it; and the table's
 * rounded sizes come with their exact byte counts.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StatsCommandTlsTest {
    /** 1.5 MiB and one byte: rounded, it reads "1.5 MiB". */
    static final int SIZE = 1_572_865;
    @TempDir
    static Path dir;
    static TlsFixture tls;
    static Gateway gateway;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        tls = TlsFixture.create(dir);
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                tls: {certificate: %s, private-key: %s}
                ftp: {enabled: false}
                http: {port: 0, tls: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: pw}]
                ledger: {url: %s}
                """.formatted(tls.cert(), tls.key(), dir.resolve("files"), dir.resolve("ledger"))));
        url = "https://127.0.0.1:" + gateway.httpAddress().getPort();
        HttpResponse<String> put = HttpClient.newBuilder().sslContext(tls.clientContext()).build().send(
                HttpRequest.newBuilder(URI.create(url + "/files/big.bin"))
                        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("alice:pw".getBytes(StandardCharsets.UTF_8)))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[SIZE])).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode(), put.body());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void statsWithTheCertificateAsItsCaPrintsExactCounts() {
        CommandLineTest.Result r = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "pw",
                "--cacert", tls.cert().toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+user alice\\s+1\\.5 MiB \\(1572865\\)\\s+0 B\\s+1\\s+0\\s+0\\s+0")),
                r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+backend local\\s+1\\.5 MiB \\(1572865\\)\\s+1")), r.out());
    }

    @Test
    void statsWithoutTheCertificateSaysSoInOneLine() {
        CommandLineTest.Result r = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "pw");
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gateway: " + url + "/api/stats: the gateway's certificate is not trusted"), r.err());
        assertTrue(r.err().contains("--cacert"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void aCacertThatIsNoCertificateSaysSoInOneLine() throws Exception {
        Path bogus = Files.writeString(dir.resolve("bogus.pem"), "not a certificate\n");
        CommandLineTest.Result r = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "pw",
                "--cacert", bogus.toString());
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gateway: --cacert " + bogus + ": "), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }
}
