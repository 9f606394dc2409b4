package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * In stream mode the end of the data connection is the end of the file, whether the client
 * finished or died. These cases cut a STOR off in the ways a dying client does and check,
 * each 20 times since they race, that the previous file stays and the transfer is failed
 * with exactly the bytes that arrived.
 */
class FtpCutOffUploadTest {
    private static final int ROUNDS = 20;
    private static final int SENT = 300_000;

    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;
    static final byte[] OLD = random(50_000, 1);

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51600-51700}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(root));
        meter = TransferMeter.inMemory();
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = ftp.start().getPort();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    @BeforeEach
    void goodFileInPlace() throws Exception {
        FTPClient c = login();
        assertTrue(c.storeFile("/good.bin", new ByteArrayInputStream(OLD)), c.getReplyString());
        c.disconnect();
        awaitNoActiveTransfer();
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static FTPClient login() throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        assertTrue(c.login("alice", "secret"), c.getReplyString());
        c.enterLocalPassiveMode();
        assertTrue(c.setFileType(FTP.BINARY_FILE_TYPE));
        return c;
    }

    static Counters totals() {
        return meter.statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
    }

    static void awaitNoActiveTransfer() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!meter.active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(meter.active().isEmpty(), "a transfer is still running");
    }

    private void assertCutOffLeftTheOldFile(Counters before, int round) throws Exception {
        awaitNoActiveTransfer();
        Counters after = totals();
        assertArrayEquals(OLD, Files.readAllBytes(root.resolve("alice/good.bin")), "round " + round + ": the old file was replaced");
        assertEquals(before.filesIn(), after.filesIn(), "round " + round + ": counted as completed");
        assertEquals(before.failedIn() + 1, after.failedIn(), "round " + round);
        assertEquals(before.bytesIn() + SENT, after.bytesIn(), "round " + round);
        try (var files = Files.list(root.resolve("alice"))) {
            assertEquals(1, files.filter(p -> !p.getFileName().toString().startsWith(".")).count(), "round " + round + ": a partial file is left");
        }
    }

    @Test
    void controlConnectionClosedBeforeTheDataConnectionAbortsTheUpload() throws Exception {
        // The gap is the scenario, not a wait: any gap must abort.
        cutOffRounds(50);
    }

    @Test
    void bothConnectionsClosedAtOnceAsByADyingProcessAbortsTheUpload() throws Exception {
        cutOffRounds(0);
    }

    /** Sends part of a file, then closes the control connection and, {@code gapMillis} later, the data connection. */
    private void cutOffRounds(long gapMillis) throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Counters before = totals();
            FTPClient c = login();
            OutputStream data = c.storeFileStream("/good.bin");
            data.write(random(SENT, round));
            data.flush();
            c.disconnect();
            if (gapMillis > 0) {
                Thread.sleep(gapMillis);
            }
            data.close();
            assertCutOffLeftTheOldFile(before, round);
        }
    }

    @Test
    void fewerBytesThanAnnouncedWithAlloAbortTheUpload() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Counters before = totals();
            FTPClient c = login();
            assertTrue(c.allocate(SENT + 1), c.getReplyString());
            OutputStream data = c.storeFileStream("/good.bin");
            data.write(random(SENT, round));
            data.close();
            assertTrue(!c.completePendingCommand(), "the short upload was confirmed");
            assertEquals(426, c.getReplyCode(), c.getReplyString());
            assertTrue(c.getReplyString().contains(SENT + " of " + (SENT + 1)), c.getReplyString());
            c.disconnect();
            assertCutOffLeftTheOldFile(before, round);
        }
    }

    @Test
    void exactlyTheAnnouncedBytesWithAlloAreStored() throws Exception {
        byte[] body = random(SENT, 7);
        FTPClient c = login();
        assertTrue(c.allocate(SENT), c.getReplyString());
        assertTrue(c.storeFile("/good.bin", new ByteArrayInputStream(body)), c.getReplyString());
        assertEquals(226, c.getReplyCode());
        c.disconnect();
        assertArrayEquals(body, Files.readAllBytes(root.resolve("alice/good.bin")));
        // The next upload without ALLO is not held to the old announcement.
        FTPClient d = login();
        assertTrue(d.storeFile("/good.bin", new ByteArrayInputStream(OLD)), d.getReplyString());
        d.disconnect();
        assertArrayEquals(OLD, Files.readAllBytes(root.resolve("alice/good.bin")));
    }

    @Test
    void theSizeAnnouncedWithAlloShowsInTheLiveView() throws Exception {
        FTPClient c = login();
        assertTrue(c.allocate(SENT + 5000), c.getReplyString());
        OutputStream data = c.storeFileStream("/announced.bin");
        data.write(random(SENT, 3));
        data.flush();
        // The transfer began before the 150 reply that opened the stream.
        List<Statistics.Active> active = meter.statistics(u -> true).active();
        assertEquals(1, active.size(), active.toString());
        assertEquals(SENT + 5000, active.get(0).size());
        data.write(random(5000, 4));
        data.close();
        assertTrue(c.completePendingCommand(), c.getReplyString());
        // Without ALLO, the size of an FTP upload is not known.
        data = c.storeFileStream("/unannounced.bin");
        data.write(random(SENT, 5));
        data.flush();
        active = meter.statistics(u -> true).active();
        assertEquals(1, active.size(), active.toString());
        assertEquals(-1, active.get(0).size());
        data.close();
        assertTrue(c.completePendingCommand(), c.getReplyString());
        c.disconnect();
        awaitNoActiveTransfer();
        Files.delete(root.resolve("alice/announced.bin")); // the cut-off tests count alice's files
        Files.delete(root.resolve("alice/unannounced.bin"));
    }

    @Test
    void aSlowUploadsBytesShowInTheLiveViewWithinASecond() throws Exception {
        FTPClient c = login();
        OutputStream data = c.storeFileStream("/slow.bin");
        for (int sent = 10_000; sent <= 30_000; sent += 10_000) {
            data.write(random(10_000, sent));
            data.flush();
            // Far less than a chunk: counted once it has waited half a second for more.
            long deadline = System.nanoTime() + 3_000_000_000L;
            long bytes = -1;
            while (System.nanoTime() < deadline) {
                List<Statistics.Active> active = meter.statistics(u -> true).active();
                bytes = active.isEmpty() ? -1 : active.get(0).bytes();
                if (bytes == sent) {
                    break;
                }
                Thread.sleep(20);
            }
            assertEquals(sent, bytes, "bytes of the upload in progress");
        }
        data.close();
        assertTrue(c.completePendingCommand(), c.getReplyString());
        c.disconnect();
        awaitNoActiveTransfer();
        assertEquals(30_000, Files.size(root.resolve("alice/slow.bin")));
        Files.delete(root.resolve("alice/slow.bin")); // the cut-off tests count alice's files
    }
}
