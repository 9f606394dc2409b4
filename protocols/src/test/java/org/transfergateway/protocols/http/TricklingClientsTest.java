package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow-loris: 500 connections trickling a request head one byte at a time, from five
 * loopback addresses (100 each, the default per-address limit), do not keep a normal
 * upload from completing, and leave the gateway serving afterwards.
 */
class TricklingClientsTest {
    private static final String ALICE = "Authorization: " + HttpFixture.basic("alice", "secret") + "\r\n";
    private static final int TRICKLERS = 500;
    private static final byte[] HEAD = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    @Test
    void aNormalUploadCompletesWhile500ConnectionsTrickleOneByteAtATime() throws Exception {
        byte[] content = new byte[10 * 1024 * 1024];
        new Random(500).nextBytes(content);
        List<Socket> tricklers = new ArrayList<>();
        try (HttpFixture gw = new HttpFixture(dir, () -> "")) {
            try {
                for (int i = 0; i < TRICKLERS; i++) {
                    tricklers.add(gw.socketFrom("127.0.0." + (2 + i % 5)));
                }
                AtomicBoolean uploaded = new AtomicBoolean();
                AtomicInteger mostOpen = new AtomicInteger();
                CompletableFuture<Integer> trickle = CompletableFuture.supplyAsync(() -> {
                    try {
                        return trickle(tricklers, uploaded, () -> mostOpen.accumulateAndGet(gw.frontEnd.openConnections(), Math::max));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                HttpFixture.RawResponse r;
                try (Socket s = gw.socket()) {
                    OutputStream out = s.getOutputStream();
                    HttpFixture.send(out, "PUT /files/big.bin HTTP/1.1\r\nHost: x\r\n" + ALICE
                            + "Content-Length: " + content.length + "\r\n\r\n");
                    out.write(content);
                    out.flush();
                    r = HttpFixture.read(s.getInputStream());
                } finally {
                    uploaded.set(true);
                }
                int bytesEach = trickle.get(30, TimeUnit.SECONDS);
                assertEquals(201, r.status(), r.body());
                assertEquals("{\"path\":\"/big.bin\",\"size\":" + content.length + "}", r.body());
                assertArrayEquals(content, Files.readAllBytes(gw.root.resolve("alice/big.bin")));
                assertTrue(bytesEach >= 5, "each trickling connection sent only " + bytesEach + " bytes");
                assertTrue(mostOpen.get() >= TRICKLERS, "only " + mostOpen.get() + " connections were open at once");
            } finally {
                for (Socket s : tricklers) {
                    s.close();
                }
            }
            for (int i = 0; i < 200 && gw.frontEnd.openConnections() > 0; i++) {
                Thread.sleep(25);
            }
            assertEquals(0, gw.frontEnd.openConnections());
            try (Socket s = gw.socket()) {
                HttpFixture.send(s.getOutputStream(), "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n" + ALICE + "\r\n");
                HttpFixture.RawResponse head = HttpFixture.readHead(s.getInputStream());
                assertEquals(200, head.status());
                assertArrayEquals(content, s.getInputStream().readNBytes(head.length()));
            }
        }
    }

    /**
     * Sends the next byte of the head on every socket in turn, a round every 200 ms, for
     * at least two seconds and until the upload is done; returns the bytes each socket sent.
     */
    private static int trickle(List<Socket> sockets, AtomicBoolean done, Runnable eachRound)
            throws IOException, InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int sent = 0;
        while (!done.get() || System.nanoTime() < until) {
            byte next = sent < HEAD.length ? HEAD[sent] : (byte) 'a';
            for (Socket s : sockets) {
                OutputStream out = s.getOutputStream();
                out.write(next);
                out.flush();
            }
            sent++;
            eachRound.run();
            Thread.sleep(200);
        }
        return sent;
    }
}
