package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Request smuggling and malformed framing over raw sockets: each gets 400 and a closed
 * connection, and a PUT pipelined behind it is never served.
 */
class MalformedRequestTest {
    private static final String AUTH = "Authorization: " + HttpFixture.basic("alice", "secret") + "\r\n";
    private static final String FRONT = "PUT /files/front.txt HTTP/1.1\r\nHost: x\r\n" + AUTH;
    private static final String BEHIND = "PUT /files/behind.txt HTTP/1.1\r\nHost: x\r\n" + AUTH
            + "Content-Length: 6\r\n\r\nbehind";

    @TempDir
    Path dir;
    private HttpFixture gw;

    @BeforeEach
    void start() throws Exception {
        gw = new HttpFixture(dir, "  max-upload-size: 1KiB\n");
    }

    @AfterEach
    void stop() {
        gw.close();
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("both Content-Length and Transfer-Encoding",
                        FRONT + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("a coding before chunked",
                        FRONT + "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("chunked not last", FRONT + "Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("an unknown transfer coding", FRONT + "Transfer-Encoding: foo\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("codings in two headers",
                        FRONT + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("two different Content-Lengths", FRONT + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
                Arguments.of("two equal Content-Lengths", FRONT + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
                Arguments.of("a bare LF after a chunk size",
                        FRONT + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
                Arguments.of("a bare LF after a header", FRONT + "Content-Length: 5\n\r\nhello"),
                Arguments.of("a space before the colon", FRONT + "Content-Length : 5\r\n\r\nhello"),
                Arguments.of("a control character in a header name", FRONT + "X-A\u0001b: 1\r\nContent-Length: 5\r\n\r\nhello"),
                Arguments.of("DEL in a header name", FRONT + "X-A\u007fb: 1\r\nContent-Length: 5\r\n\r\nhello"),
                Arguments.of("a chunk size longer than a long",
                        FRONT + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("a chunk size beyond what a chunk may be",
                        FRONT + "Transfer-Encoding: chunked\r\n\r\n80000000\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("a negative chunk size", FRONT + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("chunk data longer than its size",
                        FRONT + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"),
                Arguments.of("obs-fold with a space", FRONT + "X-Note: a\r\n b\r\nContent-Length: 5\r\n\r\nhello"),
                Arguments.of("obs-fold with a tab", FRONT + "X-Note: a\r\n\tb\r\nContent-Length: 5\r\n\r\nhello"),
                Arguments.of("obs-fold of Content-Length", FRONT + "Content-Length:\r\n 5\r\n\r\nhello"),
                Arguments.of("a negative Content-Length", FRONT + "Content-Length: -5\r\n\r\nhello"),
                Arguments.of("a signed Content-Length", FRONT + "Content-Length: +5\r\n\r\nhello"),
                Arguments.of("a Content-Length list", FRONT + "Content-Length: 5,5\r\n\r\nhello"),
                Arguments.of("a Content-Length with a space inside", FRONT + "Content-Length: 5 5\r\n\r\nhello"),
                Arguments.of("Transfer-Encoding in HTTP/1.0",
                        FRONT.replace("HTTP/1.1", "HTTP/1.0") + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("a header line without a colon", FRONT + "Oops\r\nContent-Length: 5\r\n\r\nhello"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void aMalformedRequestGets400AndAClosedConnectionAndWhatFollowsIsNeverServed(String name, String request)
            throws Exception {
        try (Socket s = gw.socket()) {
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, request + BEHIND);
            InputStream in = s.getInputStream();
            HttpFixture.RawResponse r = HttpFixture.read(in);
            assertEquals(400, r.status(), r.body());
            assertEquals("close", r.connection());
            assertTrue(r.body().startsWith("{\"error\":\"bad_request\""), r.body());
            assertEquals(-1, in.read(), "a second response followed");
        }
        assertFalse(Files.exists(gw.root.resolve("alice/front.txt")));
        assertFalse(Files.exists(gw.root.resolve("alice/behind.txt")));
    }

    @Test
    void aWellFormedPipelineServesBothRequests() throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), FRONT + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + BEHIND);
            InputStream in = s.getInputStream();
            assertEquals(201, HttpFixture.read(in).status());
            assertEquals(201, HttpFixture.read(in).status());
        }
        assertEquals("hello", Files.readString(gw.root.resolve("alice/front.txt")));
        assertEquals("behind", Files.readString(gw.root.resolve("alice/behind.txt")));
    }

    @Test
    void aPutAnnouncingMoreThanTheMaximumUploadSizeGets413BeforeItsBodyIsRead() throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), FRONT + "Content-Length: 1025\r\nExpect: 100-continue\r\n\r\n");
            InputStream in = s.getInputStream();
            HttpFixture.RawResponse r = HttpFixture.read(in);
            assertEquals(413, r.status(), "no 100 Continue first: " + r.body());
            assertEquals("close", r.connection());
            assertEquals("{\"error\":\"too_large\",\"message\":\"/front.txt: the upload of 1025 bytes exceeds the maximum upload size"
                    + " of 1024 bytes\"}", r.body());
            assertEquals(-1, in.read());
        }
        assertFalse(Files.exists(gw.root.resolve("alice/front.txt")));
    }

    @Test
    void aPutOfExactlyTheMaximumUploadSizeIsStored() throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), FRONT + "Content-Length: 1024\r\n\r\n" + "x".repeat(1024));
            assertEquals(201, HttpFixture.read(s.getInputStream()).status());
        }
        assertEquals(1024, Files.size(gw.root.resolve("alice/front.txt")));
    }

    @Test
    void headOfAMissingFileAnswers404WithoutABody() throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "HEAD /files/missing.txt HTTP/1.1\r\nHost: x\r\n" + AUTH + "\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            assertTrue(head.toString().startsWith("HTTP/1.1 404 "), head.toString());
            HttpFixture.RawResponse health = HttpFixture.read(in);
            assertEquals(200, health.status());
            assertEquals("ok", health.body().trim());
        }
    }
}
