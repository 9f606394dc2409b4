package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/** HTTPS: uploads and downloads with exact bytes through Java's HttpClient and curl, and no plain HTTP on the TLS port. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpsTest {
    @TempDir
    static Path dir;
    static TlsFixture tls;
    static Gateway gateway;
    static String base;

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
        base = "https://127.0.0.1:" + gateway.httpAddress().getPort();
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("alice:pw".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void putAndGetOverHttpsKeepEveryByte() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(tls.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
        byte[] content = new byte[1_000_000];
        new Random(11).nextBytes(content);
        HttpResponse<String> put = client.send(request("/files/dir/secret.bin")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(content)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode(), put.body());
        assertEquals("{\"path\":\"/dir/secret.bin\",\"size\":1000000}", put.body().replace(" ", ""));
        HttpResponse<byte[]> get = client.send(request("/files/dir/secret.bin").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, get.statusCode());
        assertArrayEquals(content, get.body());
        assertArrayEquals(content, Files.readAllBytes(dir.resolve("files/alice/dir/secret.bin")));
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateIsRefused() {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        assertThrows(SSLHandshakeException.class,
                () -> client.send(request("/healthz").GET().build(), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void plainHttpOnTheTlsPortGetsNoHttpAnswer() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = new byte[5];
            int n;
            try {
                n = in.readNBytes(head, 0, head.length);
            } catch (IOException reset) {
                n = 0;
            }
            assertTrue(n == 0 || !new String(head, 0, n, StandardCharsets.US_ASCII).startsWith("HTTP"),
                    "a plain HTTP answer came back");
        }
    }

    @Test
    void curlUploadsWithTheCertificateAsItsCa() throws Exception {
        Assumptions.assumeTrue(curlInstalled(), "curl is not installed");
        byte[] content = new byte[200_000];
        new Random(5).nextBytes(content);
        Path file = Files.write(dir.resolve("curl-upload.bin"), content);
        Process p = new ProcessBuilder(List.of("curl", "-sS", "--cacert", tls.cert().toString(), "-u", "alice:pw",
                "-o", "/dev/null", "-w", "%{http_code}", "-T", file.toString(), base + "/files/curl/x.bin"))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("201", out.trim());
        assertArrayEquals(content, Files.readAllBytes(dir.resolve("files/alice/curl/x.bin")));
    }

    static boolean curlInstalled() {
        try {
            Process p = new ProcessBuilder("curl", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
