package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.HttpConfig;

/** Uploads against a backend that stalls or fails: the gateway reads no faster than storage takes. */
class BackpressureTest {
    private static final String ALICE = HttpFixture.basic("alice", "secret");

    @TempDir
    Path dir;

    @Test
    void aStalledBackendStopsTheGatewayReadingTheUpload() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        long size = 64L * 1024 * 1024;
        AtomicLong sent = new AtomicLong();
        try (HttpFixture gw = new HttpFixture(dir, () -> "", s -> new GatedStorage(s, gate, false));
                HttpFrontEnd impatient = new HttpFrontEnd(new HttpConfig(true, "127.0.0.1", 0, 16 * 1024,
                        Duration.ofMillis(300)), gw.accounts, () -> "");
                Socket socket = new Socket()) {
            socket.setSendBufferSize(64 * 1024);
            // A stall of storage longer than the idle timeout must not close the connection.
            socket.connect(impatient.start());
            socket.setSoTimeout(30_000);
            CompletableFuture<HttpFixture.RawResponse> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    HttpFixture.send(out, "PUT /files/stalled.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                            + "\r\nContent-Length: " + size + "\r\n\r\n");
                    byte[] chunk = new byte[64 * 1024];
                    for (long n = 0; n < size; n += chunk.length) {
                        out.write(chunk);
                        sent.addAndGet(chunk.length);
                    }
                    out.flush();
                    return HttpFixture.read(socket.getInputStream());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long previous = -1;
            for (int i = 0; i < 40 && sent.get() != previous; i++) {
                previous = sent.get();
                Thread.sleep(250);
            }
            assertEquals(previous, sent.get(), "the client could keep sending while storage took nothing");
            assertTrue(sent.get() < size / 4, "the gateway took " + sent.get() + " bytes while storage took nothing");
            assertFalse(answer.isDone());

            gate.countDown();
            HttpFixture.RawResponse r = answer.get(60, TimeUnit.SECONDS);
            assertEquals(201, r.status(), r.body());
            assertEquals(size, Files.size(gw.root.resolve("alice/stalled.bin")));
        }
    }

    @Test
    void aBackendFailureMidUploadAnswers502AndLeavesNothing() throws Exception {
        CountDownLatch open = new CountDownLatch(0);
        try (HttpFixture gw = new HttpFixture(dir, () -> "", s -> new GatedStorage(s, open, true));
                Socket socket = gw.socket()) {
            HttpFixture.send(socket.getOutputStream(), "PUT /files/broken.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Length: 10\r\n\r\n0123456789");
            HttpFixture.RawResponse r = HttpFixture.read(socket.getInputStream());
            assertEquals(502, r.status(), r.body());
            assertEquals("backend_failed", new ObjectMapper().readTree(r.body()).get("error").asText());
            assertFalse(Files.exists(gw.root.resolve("alice/broken.bin")));
            var t = gw.meter.statistics(u -> true).transferred();
            assertEquals(1, t.failedIn());
            assertEquals(0, t.filesIn());
        }
    }

    @Test
    void aClientIdleLongerThanTheTimeoutIsDisconnected() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                HttpFrontEnd impatient = new HttpFrontEnd(new HttpConfig(true, "127.0.0.1", 0, 16 * 1024,
                        Duration.ofMillis(300)), gw.accounts, () -> "");
                Socket socket = new Socket()) {
            socket.connect(impatient.start());
            socket.setSoTimeout(5_000);
            HttpFixture.send(socket.getOutputStream(), "PUT /files/idle.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE
                    + "\r\nContent-Length: 10\r\n\r\nhalf ");
            long start = System.nanoTime();
            assertEquals(-1, socket.getInputStream().read());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4));
            awaitNoActive(gw);
            var t = gw.meter.statistics(u -> true).transferred();
            assertEquals(1, t.failedIn());
            assertEquals(5, t.bytesIn());
            assertFalse(Files.exists(gw.root.resolve("alice/idle.bin")));
        }
    }

    /** Waits until the meter has no transfer in progress. */
    private static void awaitNoActive(HttpFixture gw) throws InterruptedException {
        for (int i = 0; i < 100 && !gw.meter.active().isEmpty(); i++) {
            Thread.sleep(50);
        }
        assertTrue(gw.meter.active().isEmpty());
    }
}
