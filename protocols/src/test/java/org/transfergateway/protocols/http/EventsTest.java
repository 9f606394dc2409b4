package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.HttpConfig;
import org.transfergateway.config.LimitsConfig;

/** {@code GET /api/events}: the live transfers pushed as Server-Sent Events. */
class EventsTest {
    private static final String ALICE = HttpFixture.basic("alice", "secret");
    private static final String ADMIN = HttpFixture.basic("admin", "admin-secret");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aSlowUploadShowsItsExactBytesSizeSpeedAndEtaThenCountsInTheTotals() throws Exception {
        int size = 100_000;
        int chunk = 10_000;
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                EventReader events = EventReader.open(gw.address, ALICE);
                Socket upload = gw.socket()) {
            OutputStream out = upload.getOutputStream();
            HttpFixture.send(out, "PUT /files/slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Length: " + size + "\r\n\r\n");
            long previous = -1;
            for (int sent = chunk; sent <= 3 * chunk; sent += chunk) {
                out.write(new byte[chunk]);
                out.flush();
                long expected = sent;
                JsonNode t = events.awaitTransfer("/slow.bin", n -> n.get("bytes").asLong() == expected);
                assertTrue(expected > previous);
                previous = expected;
                assertEquals("alice", t.get("user").asText());
                assertEquals("http", t.get("protocol").asText());
                assertEquals("in", t.get("direction").asText());
                assertEquals(size, t.get("size").asLong());
                assertTrue(t.get("speed").asLong() > 0, t.toString());
                assertTrue(t.get("etaSeconds").isIntegralNumber() && t.get("etaSeconds").asLong() > 0, t.toString());
                assertTrue(t.get("startedAt").asText().endsWith("Z"), t.toString());
                assertTrue(t.get("id").asText().length() > 0);
            }
            out.write(new byte[size - 3 * chunk]);
            out.flush();
            assertEquals(201, HttpFixture.read(upload.getInputStream()).status());

            JsonNode done = events.await(e -> e.get("active").isEmpty()
                    && e.get("totals").get("filesIn").asLong() == 1);
            JsonNode totals = done.get("totals");
            assertEquals(size, totals.get("bytesIn").asLong());
            assertEquals(0, totals.get("bytesOut").asLong());
            assertEquals(0, totals.get("failedIn").asLong());
            assertEquals(size, totals.get("byProtocol").get("http").get("bytesIn").asLong());
            assertEquals(size, totals.get("byUser").get("alice").get("bytesIn").asLong());
            assertTrue(done.get("at").asText().endsWith("Z"), done.toString());
        }
    }

    @Test
    void aDownloadShowsTheLengthBeingSentAsItsSize() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                EventReader events = EventReader.open(gw.address, ALICE)) {
            Files.createDirectories(gw.root.resolve("alice"));
            Files.write(gw.root.resolve("alice/big.bin"), new byte[32 * 1024 * 1024]);
            try (Socket download = gw.socket()) {
                download.setReceiveBufferSize(16 * 1024);
                HttpFixture.send(download.getOutputStream(), "GET /files/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        + ALICE + "\r\nRange: bytes=1000-\r\n\r\n");
                assertEquals(206, HttpFixture.readHead(download.getInputStream()).status());
                // Not read: the download stays in progress.
                JsonNode t = events.awaitTransfer("/big.bin", n -> true);
                assertEquals("out", t.get("direction").asText());
                assertEquals(32 * 1024 * 1024 - 1000, t.get("size").asLong());
            }
        }
    }

    @Test
    void aUserSeesOnlyItsOwnTransfersAndAnAdminSeesEveryone() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                EventReader alice = EventReader.open(gw.address, ALICE);
                EventReader admin = EventReader.open(gw.address, ADMIN);
                Socket aliceUpload = gw.socket();
                Socket adminUpload = gw.socket()) {
            HttpFixture.send(aliceUpload.getOutputStream(), "PUT /files/a.bin HTTP/1.1\r\nHost: x\r\nAuthorization: "
                    + ALICE + "\r\nContent-Length: 10\r\n\r\n01234");
            HttpFixture.send(adminUpload.getOutputStream(), "PUT /files/b.bin HTTP/1.1\r\nHost: x\r\nAuthorization: "
                    + ADMIN + "\r\nContent-Length: 10\r\n\r\n012");

            JsonNode all = admin.await(e -> e.get("active").size() == 2);
            assertEquals(List.of("admin", "alice"), users(all).stream().sorted().toList());

            JsonNode own = alice.await(e -> e.get("active").size() == 1
                    && e.get("active").get(0).get("bytes").asLong() == 5);
            // Every event alice got names her only, however the others' transfers went.
            for (JsonNode e : alice.seen) {
                assertTrue(users(e).stream().allMatch("alice"::equals), e.toString());
                assertTrue(e.get("totals").get("byUser").path("admin").isMissingNode(), e.toString());
            }
            assertEquals("/a.bin", own.get("active").get(0).get("path").asText());

            HttpFixture.send(adminUpload.getOutputStream(), "3456789");
            assertEquals(201, HttpFixture.read(adminUpload.getInputStream()).status());
            JsonNode adminTotals = admin.await(e -> e.get("totals").get("filesIn").asLong() == 1).get("totals");
            assertEquals(10, adminTotals.get("byUser").get("admin").get("bytesIn").asLong());
            JsonNode aliceView = alice.next();
            assertEquals(0, aliceView.get("totals").get("filesIn").asLong(), aliceView.toString());
            assertEquals(List.of("alice"), users(aliceView));
        }
    }

    @Test
    void withoutCredentialsTheAnswerIs401() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(401, HttpFixture.read(s.getInputStream()).status());
        }
    }

    @Test
    void theStreamSendsAnEventEverySecondAtLeast() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                EventReader events = EventReader.open(gw.address, ALICE)) {
            assertTrue(events.head.toLowerCase().contains("content-type: text/event-stream"), events.head);
            assertTrue(events.head.toLowerCase().contains("cache-control: no-cache"), events.head);
            events.next();
            long start = System.nanoTime();
            int count = 0;
            while (System.nanoTime() - start < 3_000_000_000L) {
                events.next();
                count++;
            }
            assertTrue(count >= 2, count + " events in 3 s");
        }
    }

    @Test
    void closingTheClientStopsItsStream() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "")) {
            EventReader events = EventReader.open(gw.address, ALICE);
            events.next();
            assertEquals(1, gw.frontEnd.openEventStreams());
            assertEquals(1, gw.frontEnd.openConnections());
            events.close();
            await(() -> gw.frontEnd.openEventStreams() == 0 && gw.frontEnd.openConnections() == 0);
        }
    }

    @Test
    void anIdleTimeoutAndARateMinimumDoNotCloseAStreamThatIsRead() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                HttpFrontEnd strict = new HttpFrontEnd(new HttpConfig(true, "127.0.0.1", 0, 16 * 1024, Duration.ofMillis(500)),
                        new LimitsConfig(10, 10, 1024 * 1024, Duration.ofMillis(500), 0), gw.accounts, () -> "")) {
            EventReader events = EventReader.open(strict.start(), ALICE);
            try (events) {
                long start = System.nanoTime();
                while (System.nanoTime() - start < 3_000_000_000L) {
                    events.next();
                }
                assertEquals(1, strict.openEventStreams());
            }
        }
    }

    private static List<String> users(JsonNode event) {
        List<String> users = new ArrayList<>();
        event.get("active").forEach(t -> users.add(t.get("user").asText()));
        return users;
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met in 10 s");
            Thread.sleep(20);
        }
    }

    /** A client of the event stream over a raw socket: decodes the chunked body and the SSE lines. */
    static final class EventReader implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final String head;
        final List<JsonNode> seen = new ArrayList<>();
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private final StringBuilder text = new StringBuilder();

        private EventReader(Socket socket, String head) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.head = head;
        }

        static EventReader open(InetSocketAddress address, String authorization) throws IOException {
            Socket s = new Socket(address.getAddress(), address.getPort());
            s.setSoTimeout(10_000);
            HttpFixture.send(s.getOutputStream(), "GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: " + authorization
                    + "\r\nAccept: text/event-stream\r\n\r\n");
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("closed after " + head);
                }
                head.append((char) c);
            }
            assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
            return new EventReader(s, head.toString());
        }

        /** The data of the next {@code active} event. */
        JsonNode next() throws IOException {
            while (true) {
                int end = text.indexOf("\n\n");
                if (end >= 0) {
                    String event = text.substring(0, end);
                    text.delete(0, end + 2);
                    String name = null;
                    StringBuilder data = new StringBuilder();
                    for (String line : event.split("\n")) {
                        if (line.startsWith("event: ")) {
                            name = line.substring(7);
                        } else if (line.startsWith("data: ")) {
                            data.append(line.substring(6));
                        }
                    }
                    assertEquals("active", name, event);
                    JsonNode node = JSON.readTree(data.toString());
                    seen.add(node);
                    return node;
                }
                text.append(new String(chunk(), StandardCharsets.UTF_8));
            }
        }

        /** The next event that {@code test} accepts, within 10 s. */
        JsonNode await(Predicate<JsonNode> test) throws IOException {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline) {
                JsonNode e = next();
                if (test.test(e)) {
                    return e;
                }
            }
            throw new AssertionError("no such event in 10 s; last: " + seen.get(seen.size() - 1));
        }

        /** The transfer of {@code path} in the next event where it matches {@code test}. */
        JsonNode awaitTransfer(String path, Predicate<JsonNode> test) throws IOException {
            JsonNode[] found = new JsonNode[1];
            await(e -> {
                for (JsonNode t : e.get("active")) {
                    if (t.get("path").asText().equals(path) && test.test(t)) {
                        found[0] = t;
                        return true;
                    }
                }
                return false;
            });
            return found[0];
        }

        /** One chunk of the chunked body. */
        private byte[] chunk() throws IOException {
            String sizeLine = line();
            int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
            if (size == 0) {
                throw new IOException("the stream ended");
            }
            byte[] b = in.readNBytes(size);
            line();
            return b;
        }

        private String line() throws IOException {
            pending.reset();
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0) {
                    throw new IOException("the stream was closed");
                }
                if (c != '\r') {
                    pending.write(c);
                }
            }
            return pending.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
