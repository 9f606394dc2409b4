package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.meter.Counters;

/**
 * The WebDAV front end under /dav/ with the JDK's HttpClient and raw sockets: exact status
 * codes and XML for each method, the checks on Destination, and the same path-escape table
 * as the HTTP front end's, against /dav/.
 */
class WebDavTest {
    private static final String ALICE = HttpFixture.basic("alice", "secret");

    @TempDir
    Path dir;
    HttpFixture gw;
    final HttpClient client = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        gw = HttpFixture.withWebDav(dir);
    }

    @AfterEach
    void stop() {
        gw.close();
    }

    private HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.url(path))).header("Authorization", ALICE)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Path stored(String path) {
        return gw.root.resolve("alice" + path);
    }

    @Test
    void optionsAnnouncesClassesOneAndTwo() throws Exception {
        HttpResponse<String> r = call("OPTIONS", "/dav/", null);
        assertEquals(200, r.statusCode());
        assertEquals("1, 2", r.headers().firstValue("DAV").orElse(null));
        assertEquals("DAV", r.headers().firstValue("MS-Author-Via").orElse(null));
        assertEquals(WebDav.METHODS, r.headers().firstValue("Allow").orElse(null));
    }

    @Test
    void putCreatesThenReplacesAndGetSendsTheBytesBack() throws Exception {
        assertEquals(201, call("PUT", "/dav/a.txt", "hello").statusCode());
        assertEquals(204, call("PUT", "/dav/a.txt", "hello again").statusCode());
        HttpResponse<String> get = call("GET", "/dav/a.txt", null);
        assertEquals(200, get.statusCode());
        assertEquals("hello again", get.body());
        assertEquals("again", call("GET", "/dav/a.txt", null, "Range", "bytes=6-").body());
        assertEquals(409, call("PUT", "/dav/no/such/b.txt", "x").statusCode());
        assertFalse(Files.exists(stored("/no")), "no parent folder made");
        assertEquals(401, client.send(HttpRequest.newBuilder(URI.create(gw.url("/dav/a.txt"))).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void mkcolCreatesOnceRefusesABodyAndAMissingParent() throws Exception {
        assertEquals(201, call("MKCOL", "/dav/d", null).statusCode());
        assertTrue(Files.isDirectory(stored("/d")));
        assertEquals(405, call("MKCOL", "/dav/d", null).statusCode());
        assertEquals(415, call("MKCOL", "/dav/e", "<x/>", "Content-Type", "application/xml").statusCode());
        assertEquals(409, call("MKCOL", "/dav/x/y", null).statusCode());
    }

    @Test
    void propfindAnswersDepthZeroAndOneWithEncodedHrefsAndRefusesInfinity() throws Exception {
        call("MKCOL", "/dav/d", null);
        call("PUT", "/dav/d/a%20b%20%C3%BC.txt", "12345");
        String ask = "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop><D:getcontentlength/>"
                + "<D:resourcetype/><Z:nope xmlns:Z=\"urn:z\"/></D:prop></D:propfind>";
        HttpResponse<String> one = call("PROPFIND", "/dav/d/", ask, "Depth", "1");
        assertEquals(207, one.statusCode());
        assertEquals("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">"
                + "<D:response><D:href>/dav/d/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>"
                + "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat><D:propstat><D:prop><D:getcontentlength/>"
                + "<X:nope xmlns:X=\"urn:z\"/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>"
                + "<D:response><D:href>/dav/d/a%20b%20%C3%BC.txt</D:href><D:propstat><D:prop>"
                + "<D:getcontentlength>5</D:getcontentlength><D:resourcetype/></D:prop><D:status>HTTP/1.1 200 OK</D:status>"
                + "</D:propstat><D:propstat><D:prop><X:nope xmlns:X=\"urn:z\"/></D:prop>"
                + "<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response></D:multistatus>\n", one.body());
        HttpResponse<String> zero = call("PROPFIND", "/dav/d/a%20b%20%C3%BC.txt", null, "Depth", "0");
        assertEquals(207, zero.statusCode());
        for (String live : List.of("getlastmodified", "creationdate", "displayname>a b ü.txt<", "getetag", "supportedlock",
                "lockdiscovery", "getcontenttype")) {
            assertTrue(zero.body().contains(live), live + " in " + zero.body());
        }
        HttpResponse<String> infinite = call("PROPFIND", "/dav/d/", null);
        assertEquals(403, infinite.statusCode());
        assertEquals("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n",
                infinite.body());
        assertEquals(400, call("PROPFIND", "/dav/d/", "<not xml", "Depth", "0").statusCode());
        assertEquals(404, call("PROPFIND", "/dav/none", null, "Depth", "0").statusCode());
    }

    @Test
    void aDoctypeIsRefusedSoNoEntityIsEverRead() throws Exception {
        Files.writeString(dir.resolve("secret.txt"), "do not read");
        String xxe = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file://" + dir.resolve("secret.txt")
                + "\">]><D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><Z:p xmlns:Z=\"urn:z\">&x;</Z:p></D:prop></D:set>"
                + "</D:propertyupdate>";
        call("PUT", "/dav/f", "x");
        assertEquals(400, call("PROPPATCH", "/dav/f", xxe).statusCode());
        assertFalse(call("PROPFIND", "/dav/f", null, "Depth", "0").body().contains("do not read"));
    }

    @Test
    void deadPropertiesPersistAndMoveWithTheResource() throws Exception {
        call("PUT", "/dav/f", "x");
        HttpResponse<String> set = call("PROPPATCH", "/dav/f", "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\""
                + " xmlns:Z=\"urn:z\"><D:set><D:prop><Z:color>blue</Z:color></D:prop></D:set></D:propertyupdate>");
        assertEquals(207, set.statusCode());
        assertTrue(set.body().contains("<D:propstat><D:prop><X:color xmlns:X=\"urn:z\"/></D:prop><D:status>HTTP/1.1 200 OK"),
                set.body());
        assertEquals(201, call("MOVE", "/dav/f", null, "Destination", gw.url("/dav/g")).statusCode());
        String ask = "<D:propfind xmlns:D=\"DAV:\"><D:prop><Z:color xmlns:Z=\"urn:z\"/></D:prop></D:propfind>";
        assertTrue(call("PROPFIND", "/dav/g", ask, "Depth", "0").body().contains("<Z:color xmlns:Z=\"urn:z\">blue</Z:color>"));
        HttpResponse<String> protectedOne = call("PROPPATCH", "/dav/g", "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>"
                + "<D:getetag>x</D:getetag><Z:other xmlns:Z=\"urn:z\">1</Z:other></D:prop></D:set></D:propertyupdate>");
        assertTrue(protectedOne.body().contains("<D:getetag/></D:prop><D:status>HTTP/1.1 403 Forbidden"), protectedOne.body());
        assertTrue(protectedOne.body().contains("HTTP/1.1 424 Failed Dependency"), protectedOne.body());
        assertFalse(call("PROPFIND", "/dav/g", null, "Depth", "0").body().contains("other"), "nothing of a failed PROPPATCH");
    }

    @Test
    void getlastmodifiedIsSetWhereTheStorageKeepsTimes() throws Exception {
        call("PUT", "/dav/f", "x");
        HttpResponse<String> r = call("PROPPATCH", "/dav/f", "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>"
                + "<D:getlastmodified>Tue, 02 Jan 2024 03:04:05 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>");
        assertEquals(207, r.statusCode());
        assertTrue(r.body().contains("HTTP/1.1 200 OK"), r.body());
        String modified = call("HEAD", "/dav/f", null).headers().firstValue("Last-Modified").orElseThrow();
        assertEquals(java.time.Instant.parse("2024-01-02T03:04:05Z"),
                java.time.ZonedDateTime.parse(modified, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    }

    @Test
    void copyAndMoveHonourOverwriteAndDepth() throws Exception {
        call("MKCOL", "/dav/src", null);
        call("PUT", "/dav/src/a", "aaa");
        call("PUT", "/dav/other", "o");
        assertEquals(201, call("COPY", "/dav/src", null, "Destination", gw.url("/dav/copy")).statusCode());
        assertEquals("aaa", Files.readString(stored("/copy/a")));
        assertEquals(201, call("COPY", "/dav/src", null, "Destination", "/dav/shallow", "Depth", "0").statusCode());
        assertTrue(Files.isDirectory(stored("/shallow")));
        assertFalse(Files.exists(stored("/shallow/a")));
        assertEquals(412, call("COPY", "/dav/src/a", null, "Destination", "/dav/other", "Overwrite", "F").statusCode());
        assertEquals("o", Files.readString(stored("/other")));
        assertEquals(204, call("MOVE", "/dav/src/a", null, "Destination", "/dav/other").statusCode());
        assertEquals("aaa", Files.readString(stored("/other")));
        assertFalse(Files.exists(stored("/src/a")));
        assertEquals(409, call("MOVE", "/dav/other", null, "Destination", "/dav/none/x").statusCode());
        assertEquals(403, call("COPY", "/dav/src", null, "Destination", "/dav/src/in").statusCode());
        assertEquals(204, call("DELETE", "/dav/copy", null).statusCode());
        assertFalse(Files.exists(stored("/copy")));
        assertEquals(404, call("DELETE", "/dav/copy", null).statusCode());
    }

    @Test
    void aDestinationOutsideTheHomeOrTheServerIsRefusedAndNothingIsWritten() throws Exception {
        call("PUT", "/dav/f", "x");
        String host = "127.0.0.1:" + gw.address.getPort();
        for (String[] c : new String[][] {
                {"/dav/../../admin/f", "403"}, {"/dav/%2e%2e/admin/f", "403"}, {"/dav/a/%2E%2E/%2E%2E/x", "403"},
                {"http://" + host + "/dav/%2e%2e/%2e%2e/etc/f", "403"}, {"/files/f", "403"}, {"/elsewhere", "403"},
                {"http://example.com/dav/f2", "502"}, {"http://" + host + "/dav/%zz", "400"}, {"::: no uri", "400"}}) {
            for (String method : List.of("COPY", "MOVE")) {
                HttpResponse<String> r = call(method, "/dav/f", null, "Destination", c[0]);
                assertEquals(Integer.parseInt(c[1]), r.statusCode(), method + " to " + c[0] + ": " + r.body());
            }
        }
        try (Stream<Path> all = Files.walk(gw.root)) {
            assertEquals(List.of(stored("/f")), all.filter(Files::isRegularFile).collect(Collectors.toList()));
        }
    }

    @Test
    void pathEscapesAreRefusedAsOverHttpAndNothingIsWrittenOutsideTheHome() throws IOException {
        for (String target : new String[] {"/dav/%2e%2e/%2e%2e/etc/passwd", "/dav/../../x", "/dav/a/%2E%2E/%2E%2E/x",
                "/dav/%2e%2e/admin/x"}) {
            for (String method : List.of("PUT", "MKCOL", "LOCK")) {
                try (Socket s = gw.socket()) {
                    String body = method.equals("PUT") ? "evil" : "";
                    HttpFixture.send(s.getOutputStream(), method + " " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: "
                            + ALICE + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
                    HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
                    assertEquals(400, r.status(), method + " " + target + ": " + r.body());
                    assertTrue(r.body().contains("bad_path"), r.body());
                }
            }
        }
        try (Stream<Path> all = Files.walk(dir)) {
            assertEquals(List.of(), all.filter(Files::isRegularFile).collect(Collectors.toList()));
        }
    }

    @Test
    void aLockKeepsOthersOutUntilItsTokenIsSubmittedOrItIsUnlocked() throws Exception {
        call("PUT", "/dav/f", "x");
        String info = "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
                + "<D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>";
        HttpResponse<String> lock = call("LOCK", "/dav/f", info, "Timeout", "Second-60", "Depth", "0");
        assertEquals(200, lock.statusCode());
        String token = lock.headers().firstValue("Lock-Token").orElseThrow();
        assertTrue(token.matches("<opaquelocktoken:[0-9a-f-]{36}>"), token);
        assertTrue(lock.body().contains("<D:timeout>Second-60</D:timeout>"), lock.body());
        assertEquals(423, call("LOCK", "/dav/f", info).statusCode());
        assertEquals(423, call("PUT", "/dav/f", "y").statusCode());
        assertEquals(423, call("DELETE", "/dav/f", null).statusCode());
        assertEquals(412, call("PUT", "/dav/f", "y", "If", "(<opaquelocktoken:nope>)").statusCode());
        assertEquals(204, call("PUT", "/dav/f", "y", "If", "(" + token + ")").statusCode());
        assertEquals(200, call("LOCK", "/dav/f", null, "If", "(" + token + ")", "Timeout", "Second-30").statusCode());
        assertEquals(409, call("UNLOCK", "/dav/f", null, "Lock-Token", "<opaquelocktoken:nope>").statusCode());
        assertEquals(204, call("UNLOCK", "/dav/f", null, "Lock-Token", token).statusCode());
        assertEquals(204, call("DELETE", "/dav/f", null).statusCode());
    }

    @Test
    void aLockOnAnUnmappedUrlCreatesAnEmptyFile() throws Exception {
        HttpResponse<String> lock = call("LOCK", "/dav/new", "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:shared/>"
                + "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>");
        assertEquals(201, lock.statusCode());
        assertEquals(0, Files.size(stored("/new")));
        assertEquals(409, call("LOCK", "/dav/none/new", "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:shared/>"
                + "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>").statusCode());
    }

    @Test
    void whatMovesUnderDavCountsAsWebdavAndNeverAsHttp() throws Exception {
        byte[] body = new byte[123_457];
        new java.util.Random(7).nextBytes(body);
        HttpResponse<String> put = client.send(HttpRequest.newBuilder(URI.create(gw.url("/dav/b.bin"))).header("Authorization", ALICE)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode());
        HttpResponse<byte[]> get = client.send(HttpRequest.newBuilder(URI.create(gw.url("/dav/b.bin"))).header("Authorization", ALICE)
                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertArrayEquals(body, get.body());
        assertEquals(201, call("PUT", "/files/h.txt", "four").statusCode());
        Counters dav = new Counters(body.length, body.length, 1, 1, 0, 0);
        long deadline = System.currentTimeMillis() + 5_000;
        while (!dav.equals(gw.meter.statistics(u -> true).byProtocol().get("webdav")) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(dav, gw.meter.statistics(u -> true).byProtocol().get("webdav"));
        assertEquals(new Counters(4, 0, 1, 0, 0, 0), gw.meter.statistics(u -> true).byProtocol().get("http"));
    }
}
