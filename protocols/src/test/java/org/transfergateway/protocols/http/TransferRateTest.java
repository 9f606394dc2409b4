package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.HttpConfig;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.storage.meter.Counters;

/**
 * limits.min-transfer-rate on HTTP: a transfer slower than the minimum after the grace
 * period is dropped and counted failed; fast transfers and a slow backend are not.
 */
class TransferRateTest {
    private static final String ALICE = "Authorization: " + HttpFixture.basic("alice", "secret") + "\r\n";
    private static final long MIN_RATE = 2 * 1024 * 1024;
    private static final LimitsConfig LIMITS = new LimitsConfig(1000, 100, MIN_RATE, Duration.ofSeconds(1), 0);
    private static final HttpConfig HTTP = new HttpConfig(true, "127.0.0.1", 0, 16 * 1024, Duration.ofSeconds(30));

    @TempDir
    Path dir;

    @Test
    void anUploadSlowerThanTheMinimumRateIsDroppedAndLeavesNothing() throws Exception {
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                HttpFrontEnd http = new HttpFrontEnd(HTTP, LIMITS, gw.accounts, () -> "");
                Socket s = new Socket()) {
            s.connect(http.start());
            s.setSoTimeout(10_000);
            long began = System.nanoTime();
            HttpFixture.send(s.getOutputStream(), "PUT /files/slow.bin HTTP/1.1\r\nHost: x\r\n" + ALICE
                    + "Content-Length: 1048576\r\n\r\n" + "x".repeat(100));
            assertEquals(-1, s.getInputStream().read(), "the connection was not closed");
            long tookMillis = (System.nanoTime() - began) / 1_000_000;
            assertTrue(tookMillis >= 1000 && tookMillis < 5000, "dropped after " + tookMillis + " ms");
            Counters t = settled(gw, c -> c.failedIn() == 1);
            assertEquals(new Counters(100, 0, 0, 0, 1, 0), t);
            assertFalse(Files.exists(gw.root.resolve("alice/slow.bin")));
        }
    }

    @Test
    void aDownloadSlowerThanTheMinimumRateIsDroppedAndCountedFailed() throws Exception {
        long size = 64L * 1024 * 1024;
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                HttpFrontEnd http = new HttpFrontEnd(HTTP, LIMITS, gw.accounts, () -> "");
                Socket s = new Socket()) {
            writeFile(gw.root.resolve("alice/big.bin"), size);
            s.setReceiveBufferSize(16 * 1024);
            s.connect(http.start());
            s.setSoTimeout(10_000);
            HttpFixture.send(s.getOutputStream(), "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n" + ALICE + "\r\n");
            InputStream in = s.getInputStream();
            assertEquals(1000, in.readNBytes(1000).length);
            Counters t = settled(gw, c -> c.failedOut() == 1);
            long received = 1000 + drain(in);
            assertEquals(0, t.filesOut());
            assertEquals(1, t.failedOut());
            assertTrue(received < size, "received all " + received + " bytes");
        }
    }

    /** Local files go out as zero-copy file regions: their bytes still count as they leave. */
    @Test
    void aZeroCopyDownloadCountsItsBytesAsTheyLeaveAndFailsWhenCutShort() throws Exception {
        long size = 64L * 1024 * 1024;
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                Socket s = new Socket()) {
            writeFile(gw.root.resolve("alice/big.bin"), size);
            s.setReceiveBufferSize(16 * 1024);
            s.connect(gw.address);
            s.setSoTimeout(10_000);
            HttpFixture.send(s.getOutputStream(), "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n" + ALICE + "\r\n");
            InputStream in = s.getInputStream();
            assertEquals(1 << 20, in.readNBytes(1 << 20).length);
            long live = 0;
            for (int i = 0; i < 200 && live == 0; i++) {
                live = gw.meter.active().stream().mapToLong(t -> t.bytes()).sum();
                Thread.sleep(20);
            }
            assertTrue(live >= (1 << 20) && live < size, "bytes counted while the client stalls: " + live);
            s.close();
            Counters t = settled(gw, c -> c.failedOut() == 1);
            assertEquals(1, t.failedOut());
            assertEquals(0, t.filesOut());
            assertTrue(t.bytesOut() >= live && t.bytesOut() < size, "bytes out " + t.bytesOut());
        }
    }

    @Test
    void fastTransfersAreNotDropped() throws Exception {
        byte[] content = new byte[8 * 1024 * 1024];
        new Random(7).nextBytes(content);
        try (HttpFixture gw = new HttpFixture(dir, () -> "");
                HttpFrontEnd http = new HttpFrontEnd(HTTP, LIMITS, gw.accounts, () -> "");
                Socket s = new Socket()) {
            s.connect(http.start());
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PUT /files/fast.bin HTTP/1.1\r\nHost: x\r\n" + ALICE
                    + "Content-Length: " + content.length + "\r\n\r\n");
            out.write(content);
            out.flush();
            assertEquals(201, HttpFixture.read(s.getInputStream()).status());
            HttpFixture.send(out, "GET /files/fast.bin HTTP/1.1\r\nHost: x\r\n" + ALICE + "\r\n");
            HttpFixture.RawResponse head = HttpFixture.readHead(s.getInputStream());
            assertEquals(200, head.status());
            assertArrayEquals(content, s.getInputStream().readNBytes(content.length));
            assertEquals(new Counters(content.length, content.length, 1, 1, 0, 0), settled(gw, c -> c.filesOut() == 1));
        }
    }

    @Test
    void anUploadHeldBackByASlowBackendIsNotDropped() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        byte[] content = new byte[4 * 1024 * 1024];
        new Random(8).nextBytes(content);
        try (HttpFixture gw = new HttpFixture(dir, () -> "", st -> new GatedStorage(st, gate, false));
                HttpFrontEnd http = new HttpFrontEnd(HTTP, LIMITS, gw.accounts, () -> "");
                Socket s = new Socket()) {
            s.connect(http.start());
            s.setSoTimeout(10_000);
            Thread opener = new Thread(() -> {
                try {
                    Thread.sleep(3000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                gate.countDown();
            });
            opener.start();
            OutputStream out = s.getOutputStream();
            HttpFixture.send(out, "PUT /files/held.bin HTTP/1.1\r\nHost: x\r\n" + ALICE
                    + "Content-Length: " + content.length + "\r\n\r\n");
            out.write(content);
            out.flush();
            assertEquals(201, HttpFixture.read(s.getInputStream()).status());
            opener.join();
            assertArrayEquals(content, Files.readAllBytes(gw.root.resolve("alice/held.bin")));
        }
    }

    private static Counters settled(HttpFixture gw, Predicate<Counters> done) throws InterruptedException {
        Counters t = gw.meter.statistics(u -> true).transferred();
        for (int i = 0; i < 200 && !(done.test(t) && gw.meter.active().isEmpty()); i++) {
            Thread.sleep(50);
            t = gw.meter.statistics(u -> true).transferred();
        }
        return t;
    }

    private static long drain(InputStream in) throws IOException {
        long n = 0;
        byte[] buf = new byte[64 * 1024];
        try {
            for (int r = in.read(buf); r >= 0; r = in.read(buf)) {
                n += r;
            }
        } catch (SocketException reset) {
            // the gateway closed with bytes in flight
        }
        return n;
    }

    private static void writeFile(Path file, long size) throws IOException {
        Files.createDirectories(file.getParent());
        byte[] block = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long n = 0; n < size; n += block.length) {
                out.write(block);
            }
        }
    }
}
