package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Downloads that the client gives up are counted failed, with the bytes the gateway
 * handed to the network: a data connection reset before the end (also after the last
 * byte left), ABOR during RETR (answered 426, then 226), and curl's range download,
 * which reads what it wants, closes the data connection and sends ABOR. Complete
 * downloads stay complete. The timing-dependent cases run 20 times.
 */
class FtpAbortTest {
    private static final int ROUNDS = 20;
    private static final int MILLION = 1_000_000;
    private static final int SMALL = 100_000;
    private static final long BIG = 256L * 1024 * 1024;

    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;
    static byte[] million;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {host: 127.0.0.1, port: 0, passive-ports: 54300-54340, idle-timeout: 30s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(root));
        meter = TransferMeter.inMemory();
        ftp = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = ftp.start().getPort();
        Path home = Files.createDirectories(root.resolve("alice"));
        million = new byte[MILLION];
        new Random(8).nextBytes(million);
        Files.write(home.resolve("million.bin"), million);
        Files.write(home.resolve("small.bin"), Arrays.copyOf(million, SMALL));
        try (RandomAccessFile big = new RandomAccessFile(home.resolve("big.bin").toFile(), "rw")) {
            big.setLength(BIG); // sparse: a download larger than any socket buffer
        }
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    private static Counters alice() {
        return meter.statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
    }

    private static FTPClient login() throws Exception {
        return login(new FTPClient());
    }

    /**
     * A client whose sockets reset the connection when closed with bytes unread, as curl's,
     * Python's and Go's (rclone's) do; Java's close sends a FIN instead. Only its data
     * connections: the factory is set after the control connection is open.
     */
    private static FTPClient resettingClient() throws Exception {
        FTPClient c = login();
        c.setSocketFactory(new javax.net.SocketFactory() {
            @Override
            public Socket createSocket() throws java.io.IOException {
                Socket s = new Socket();
                s.setSoLinger(true, 0);
                return s;
            }

            @Override
            public Socket createSocket(String host, int port) throws java.io.IOException {
                throw new UnsupportedOperationException();
            }

            @Override
            public Socket createSocket(String host, int port, java.net.InetAddress local, int localPort) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Socket createSocket(java.net.InetAddress host, int port) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Socket createSocket(java.net.InetAddress address, int port, java.net.InetAddress local, int localPort) {
                throw new UnsupportedOperationException();
            }
        });
        return c;
    }

    private static FTPClient login(FTPClient c) throws Exception {
        c.setDefaultTimeout(10_000);
        c.connect("127.0.0.1", port);
        c.setSoTimeout(10_000); // a reply that never comes fails the test instead of hanging it
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    /** Until the download running now has handed {@code bytes} to the network, or has ended. */
    private static void awaitSent(long bytes) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            List<Transfer> active = meter.active();
            if (active.isEmpty() || active.get(0).bytes() >= bytes) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the download did not send " + bytes + " bytes");
    }

    @Test
    void completeDownloadsAreCountedComplete() throws Exception {
        FTPClient c = login();
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                Counters before = alice();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                assertTrue(c.retrieveFile("million.bin", got), c.getReplyString());
                assertArrayEquals(million, got.toByteArray());
                c.setRestartOffset(10);
                ByteArrayOutputStream tail = new ByteArrayOutputStream();
                assertTrue(c.retrieveFile("million.bin", tail), c.getReplyString());
                c.setRestartOffset(0);
                assertArrayEquals(Arrays.copyOfRange(million, 10, MILLION), tail.toByteArray());
                Counters after = alice();
                assertEquals(2, after.filesOut() - before.filesOut(), "round " + round);
                assertEquals(0, after.failedOut() - before.failedOut(), "round " + round);
                assertEquals(MILLION + MILLION - 10, after.bytesOut() - before.bytesOut(), "round " + round);
            }
            assertEquals(226, c.sendCommand("ABOR"), "ABOR with no transfer: " + c.getReplyString());
        } finally {
            c.disconnect();
        }
    }

    @Test
    void aClientThatResetsTheDataConnectionAfterTheLastByteWasSentFailsTheDownload() throws Exception {
        FTPClient c = resettingClient();
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                Counters before = alice();
                InputStream in = c.retrieveFileStream("small.bin");
                assertNotNull(in, c.getReplyString());
                assertArrayEquals(Arrays.copyOf(million, 100), in.readNBytes(100));
                awaitSent(SMALL); // every byte is in the socket buffers, not read by the client
                in.close(); // closing with unread bytes resets the connection
                assertFalse(c.completePendingCommand(), "round " + round + ": " + c.getReplyString());
                assertEquals(426, c.getReplyCode(), c.getReplyString());
                Counters after = alice();
                assertEquals(0, after.filesOut() - before.filesOut(), "round " + round);
                assertEquals(1, after.failedOut() - before.failedOut(), "round " + round);
                assertEquals(SMALL, after.bytesOut() - before.bytesOut(), "round " + round);
                assertTrue(c.sendNoOp(), "the session goes on");
            }
        } finally {
            c.disconnect();
        }
    }

    @Test
    void aborDuringADownloadAnswers426Then226AndCountsTheBytesSent() throws Exception {
        FTPClient c = login();
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                Counters before = alice();
                InputStream in = c.retrieveFileStream("big.bin");
                assertNotNull(in, c.getReplyString());
                assertEquals(0, in.readNBytes(1000)[0]);
                // The client reads nothing more: the gateway is stuck in a full socket buffer.
                assertEquals(426, c.sendCommand("ABOR"), "round " + round + ": the transfer's answer first: " + c.getReplyString());
                assertEquals(226, c.getReply(), "round " + round + ": then ABOR's: " + c.getReplyString());
                long received = 1000 + in.transferTo(OutputStream.nullOutputStream());
                in.close();
                Counters after = alice();
                assertEquals(0, after.filesOut() - before.filesOut(), "round " + round);
                assertEquals(1, after.failedOut() - before.failedOut(), "round " + round);
                assertTrue(received < BIG, "round " + round + ": " + received);
                assertEquals(received, after.bytesOut() - before.bytesOut(), "round " + round + ": what was sent reached the client");
                assertTrue(c.sendNoOp(), "the session goes on");
            }
        } finally {
            c.disconnect();
        }
    }

    @Test
    void aborAfterTheLastByteWasSentButBeforeTheClientReadItFailsTheDownload() throws Exception {
        FTPClient c = login();
        c.setSoTimeout(3_000); // shorter than the gateway's wait for the client to close
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                Counters before = alice();
                InputStream in = c.retrieveFileStream("small.bin");
                assertNotNull(in, c.getReplyString());
                assertArrayEquals(Arrays.copyOf(million, 100), in.readNBytes(100));
                awaitSent(SMALL);
                assertEquals(426, c.sendCommand("ABOR"), "round " + round + ": " + c.getReplyString());
                assertEquals(226, c.getReply(), "round " + round + ": " + c.getReplyString());
                assertEquals(SMALL - 100, in.transferTo(OutputStream.nullOutputStream()), "what was sent still arrives");
                in.close();
                Counters after = alice();
                assertEquals(0, after.filesOut() - before.filesOut(), "round " + round);
                assertEquals(1, after.failedOut() - before.failedOut(), "round " + round);
                assertEquals(SMALL, after.bytesOut() - before.bytesOut(), "round " + round);
            }
        } finally {
            c.disconnect();
        }
    }

    @Test
    void curlsRangeDownloadIsCountedFailed() throws Exception {
        Path curl = RealClients.require("curl");
        Path out = root.resolve("range.out");
        for (int round = 1; round <= ROUNDS; round++) {
            Counters before = alice();
            Files.deleteIfExists(out);
            RealClients.Result r = RealClients.run(Map.of(), 60, curl.toString(), "-sS", "-v", "-r", "10-109", "-o", out.toString(),
                    "ftp://alice:secret@127.0.0.1:" + port + "/million.bin");
            assertEquals(0, r.status(), r.output());
            assertArrayEquals(Arrays.copyOfRange(million, 10, 110), Files.readAllBytes(out));
            Counters after = alice();
            String where = "round " + round + ": " + after + "\n" + r.output();
            assertEquals(0, after.filesOut() - before.filesOut(), where);
            assertEquals(1, after.failedOut() - before.failedOut(), where);
            long sent = after.bytesOut() - before.bytesOut();
            assertTrue(sent >= 100 && sent <= MILLION - 10, where);
        }
    }
}
