package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.protocols.proxy.ProxyHeaders;

/**
 * listeners.proxy-protocol on the HTTP listener: every connection comes from 127.0.0.1
 * (the stand-in balancer), and the gateway counts, bans and serves the client its PROXY
 * header names.
 */
class ProxyProtocolHttpTest {
    private static final String SECTIONS = """
            listeners:
              proxy-protocol: true
            limits:
              max-connections-per-address: 2
            security: {login-failure-delay: 100ms, max-login-failures: 3, ban-duration: 10m}
            """;

    @TempDir
    Path dir;
    private HttpFixture gw;
    private final List<Socket> open = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (Socket s : open) {
            s.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void uploadsAfterAV1OrV2HeaderKeepEveryByte() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        byte[] content = new byte[300_000];
        new Random(7).nextBytes(content);
        List<byte[]> headers = List.of(ProxyHeaders.v1("192.0.2.7", 40000, "127.0.0.1", 80),
                ProxyHeaders.v2("2001:db8::7", 40001, "::1", 80));
        for (int i = 0; i < headers.size(); i++) {
            byte[] header = headers.get(i);
            try (Socket s = gw.socket()) {
                OutputStream out = s.getOutputStream();
                // The header and the request in one write, as a balancer's first segment often is.
                out.write(concat(header, ("PUT /files/up" + i + ".bin HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        + HttpFixture.basic("alice", "secret") + "\r\nContent-Length: " + content.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII)));
                out.write(content);
                HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
                assertEquals(201, r.status(), r.body());
            }
            assertArrayEquals(content, Files.readAllBytes(gw.root.resolve("alice/up" + i + ".bin")));
        }
    }

    @Test
    void theLimitPerAddressCountsTheClaimedAddresses() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        served(ProxyHeaders.v1("192.0.2.7", 1, "127.0.0.1", 80));
        served(ProxyHeaders.v2("192.0.2.7", 2, "127.0.0.1", 80));
        assertRefused(ProxyHeaders.v1("192.0.2.7", 3, "127.0.0.1", 80));
        // The same balancer, other clients: each has its own two places.
        served(ProxyHeaders.v1("192.0.2.8", 4, "127.0.0.1", 80));
        served(ProxyHeaders.v2("192.0.2.9", 5, "127.0.0.1", 80));
        assertEquals(4, gw.frontEnd.openConnections());
    }

    @Test
    void aLocalHeaderCountsTheBalancersOwnAddress() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        served(ProxyHeaders.v2Local());
        served(ProxyHeaders.v2Local());
        assertRefused(ProxyHeaders.v2Local());
        served(ProxyHeaders.v2("192.0.2.7", 1, "127.0.0.1", 80));
    }

    @Test
    void aBanOnOneClaimedAddressDoesNotBlockAnother() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        for (int i = 0; i < 3; i++) {
            assertEquals(401, get(ProxyHeaders.v1("192.0.2.7", 1000 + i, "127.0.0.1", 80), "wrong").status());
        }
        assertEquals(429, get(ProxyHeaders.v2("192.0.2.7", 2000, "127.0.0.1", 80), "secret").status());
        assertEquals(200, get(ProxyHeaders.v1("192.0.2.8", 3000, "127.0.0.1", 80), "secret").status());
        assertFalse(gw.accounts.guard().banRemaining(InetAddress.getByName("192.0.2.7")).isZero());
        assertTrue(gw.accounts.guard().banRemaining(InetAddress.getByName("127.0.0.1")).isZero());
    }

    @Test
    void aConnectionWithoutAValidHeaderIsClosedUnanswered() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        for (byte[] first : List.of(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                "PROXY TCP4 192.0.2.999 127.0.0.1 1 80\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                "PROXY UDP4 192.0.2.7 127.0.0.1 1 80\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                concat(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 2, 1, 2},
                        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)))) {
            try (Socket s = gw.socket()) {
                s.getOutputStream().write(first);
                assertEquals(-1, s.getInputStream().read(), new String(first, StandardCharsets.ISO_8859_1));
            }
        }
        // Nothing was counted for them.
        assertEquals(0, gw.frontEnd.openConnections());
    }

    @Test
    void withoutTheSettingAHeaderIsABadRequest() throws Exception {
        gw = HttpFixture.withSections(dir, "");
        try (Socket s = gw.socket()) {
            s.getOutputStream().write(concat(ProxyHeaders.v1("192.0.2.7", 1, "127.0.0.1", 80),
                    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            assertEquals(400, HttpFixture.read(s.getInputStream()).status());
        }
    }

    @Test
    void aRealClientThroughARelayThatPrependsTheHeader() throws Exception {
        gw = HttpFixture.withSections(dir, SECTIONS);
        byte[] content = new byte[1 << 20];
        new Random(11).nextBytes(content);
        try (ProxyHeaders.Relay relay = new ProxyHeaders.Relay(gw.address,
                () -> ProxyHeaders.v2("192.0.2.7", 50000, "127.0.0.1", 80))) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> put = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.port() + "/files/relayed.bin"))
                    .header("Authorization", HttpFixture.basic("alice", "secret"))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(content)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, put.statusCode(), put.body());
            HttpResponse<byte[]> got = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.port() + "/files/relayed.bin"))
                    .header("Authorization", HttpFixture.basic("alice", "secret")).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, got.statusCode());
            assertArrayEquals(content, got.body());
            // Failed logins through the relay are held against the client it names, not the relay.
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> wrong = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.port() + "/api/stats"))
                        .header("Authorization", HttpFixture.basic("alice", "nope")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(401, wrong.statusCode());
            }
            assertFalse(gw.accounts.guard().banRemaining(InetAddress.getByName("192.0.2.7")).isZero());
            assertTrue(gw.accounts.guard().banRemaining(InetAddress.getByName("127.0.0.1")).isZero());
        }
        assertArrayEquals(content, Files.readAllBytes(gw.root.resolve("alice/relayed.bin")));
    }

    private HttpFixture.RawResponse get(byte[] header, String password) throws IOException {
        try (Socket s = gw.socket()) {
            s.getOutputStream().write(concat(header, ("GET /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                    + HttpFixture.basic("alice", password) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
            return HttpFixture.read(s.getInputStream());
        }
    }

    /** Opens a connection with {@code header} and shows it is served, leaving it open. */
    private void served(byte[] header) throws IOException {
        Socket s = gw.socket();
        open.add(s);
        s.getOutputStream().write(concat(header, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
        assertEquals(200, r.status());
    }

    private void assertRefused(byte[] header) throws IOException {
        try (Socket s = gw.socket()) {
            s.getOutputStream().write(concat(header, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            InputStream in = s.getInputStream();
            HttpFixture.RawResponse r = HttpFixture.read(in);
            assertEquals(503, r.status());
            assertEquals("{\"error\":\"too_many_connections\",\"message\":\"this address has the most connections it may open (2)\"}",
                    r.body());
            assertEquals(-1, in.read());
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
