package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
                Socket socket = new Socket()) {
            socket.setSendBufferSize(64 * 1024);
            socket.connect(gw.address);
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
}
