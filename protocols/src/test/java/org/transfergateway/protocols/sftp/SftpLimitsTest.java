package org.transfergateway.protocols.sftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.TransferMeter;

/** SFTP under limits.*: sessions in total and per address, and the minimum transfer rate both ways. */
class SftpLimitsTest {
    @TempDir
    static Path root;
    @TempDir
    static Path data;
    static SftpFrontEnd sftp;
    static int port;
    static TransferMeter meter;
    static SshClient client;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                sftp: {port: 0, host-key: %s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                limits: {max-connections: 4, max-connections-per-address: 2, min-transfer-rate: 100KiB, rate-grace: 1s}
                """.formatted(data.resolve("host_key"), root));
        meter = TransferMeter.inMemory();
        sftp = new SftpFrontEnd(config.sftp(), config.limits(), new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = sftp.start().getPort();
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
    }

    @AfterAll
    static void stop() throws IOException {
        client.stop();
        sftp.close();
    }

    /** A logged-in session from a given loopback address. */
    private static ClientSession from(String address) throws IOException {
        ClientSession s = client.connect("alice", new InetSocketAddress("127.0.0.1", port), new InetSocketAddress(address, 0))
                .verify(Duration.ofSeconds(10)).getClientSession();
        try {
            s.addPasswordIdentity("secret");
            s.auth().verify(Duration.ofSeconds(10));
            return s;
        } catch (IOException | RuntimeException e) {
            s.close(true);
            throw e;
        }
    }

    private static void waitForOpen(int n) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5000;
        while (sftp.openConnections() != n && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(n, sftp.openConnections());
    }

    private static Counters totals() {
        return meter.statistics(u -> true).byProtocol().getOrDefault("sftp", Counters.ZERO);
    }

    private static void awaitNoActiveTransfer() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!meter.active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(meter.active().isEmpty(), "a transfer is still running");
    }

    @Test
    void sessionsOverTheLimitsAreTurnedAwayAndOthersGoOn() throws Exception {
        List<ClientSession> open = new ArrayList<>();
        try {
            open.add(from("127.0.0.11"));
            open.add(from("127.0.0.11"));
            assertThrows(IOException.class, () -> from("127.0.0.11").close());
            open.add(from("127.0.0.12"));
            open.add(from("127.0.0.13"));
            assertThrows(IOException.class, () -> from("127.0.0.14").close()); // 4 open in all
            waitForOpen(4);
            // A place given back is taken again, by the address that had reached its limit too.
            open.remove(0).close();
            waitForOpen(3);
            ClientSession again = from("127.0.0.11");
            open.add(again);
            try (SftpClient c = SftpClientFactory.instance().createSftpClient(again)) {
                assertEquals("/", c.canonicalPath("."));
            }
        } finally {
            for (ClientSession s : open) {
                s.close();
            }
        }
        waitForOpen(0);
    }

    @Test
    void aTransferFasterThanTheMinimumGoesThrough() throws Exception {
        awaitNoActiveTransfer();
        Counters before = totals();
        byte[] body = new byte[3 << 20];
        try (ClientSession s = from("127.0.0.21"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/fast.bin")) {
                for (int i = 0; i < 3; i++) {
                    out.write(body, i << 20, 1 << 20);
                    Thread.sleep(500); // past the grace, still far above 100 KiB/s
                }
            }
        }
        awaitNoActiveTransfer();
        assertEquals(body.length, Files.size(root.resolve("alice/fast.bin")));
        Counters after = totals();
        assertEquals(1, after.filesIn() - before.filesIn());
        assertEquals(0, after.failedIn() - before.failedIn());
    }

    @Test
    void aSlowUploadIsAbortedStoresNothingAndCountsAFailure() throws Exception {
        awaitNoActiveTransfer();
        Counters before = totals();
        try (ClientSession s = from("127.0.0.22"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpClient.CloseableHandle h = c.open("/slow.bin", EnumSet.of(SftpClient.OpenMode.Write, SftpClient.OpenMode.Create,
                    SftpClient.OpenMode.Truncate));
            byte[] chunk = new byte[1024];
            long offset = 0;
            SftpException refused = null;
            long deadline = System.currentTimeMillis() + 10_000;
            while (refused == null && System.currentTimeMillis() < deadline) {
                try {
                    c.write(h, offset, chunk);
                    offset += chunk.length;
                    Thread.sleep(100); // ~10 KiB/s
                } catch (SftpException e) {
                    refused = e;
                }
            }
            assertTrue(refused != null, "the slow upload was never stopped");
            assertEquals(SftpConstants.SSH_FX_FAILURE, refused.getStatus());
            assertTrue(refused.getMessage().contains("slower than the minimum of 102400 bytes/s"), refused.getMessage());
            SftpException atClose = assertThrows(SftpException.class, h::close);
            assertTrue(atClose.getMessage().contains("nothing stored"), atClose.getMessage());
            // The session goes on.
            assertEquals("/", c.canonicalPath("."));
        }
        awaitNoActiveTransfer();
        assertFalse(Files.exists(root.resolve("alice/slow.bin")));
        Counters after = totals();
        assertEquals(0, after.filesIn() - before.filesIn());
        assertEquals(1, after.failedIn() - before.failedIn());
        assertTrue(after.bytesIn() - before.bytesIn() >= 8 * 1024, "bytes received are counted");
    }

    /** Waits until the sftp totals show {@code failed} more failed transfers (in or out) than {@code before}. */
    private static Counters awaitFailures(Counters before, long failedIn, long failedOut) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        Counters now = totals();
        while ((now.failedIn() - before.failedIn() < failedIn || now.failedOut() - before.failedOut() < failedOut)
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            now = totals();
        }
        return now;
    }

    @Test
    void aStalledUploadIsAbortedWithoutWaitingForItsNextWrite() throws Exception {
        awaitNoActiveTransfer();
        Counters before = totals();
        try (ClientSession s = from("127.0.0.24"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpClient.CloseableHandle h = c.open("/stalled.bin", EnumSet.of(SftpClient.OpenMode.Write, SftpClient.OpenMode.Create,
                    SftpClient.OpenMode.Truncate));
            c.write(h, 0, new byte[1024]);
            // Nothing more is sent: the sweep finds it below the minimum after the grace second.
            Counters after = awaitFailures(before, 1, 0);
            assertEquals(1, after.failedIn() - before.failedIn(), "counted failed while the handle is still open");
            assertEquals(1024, after.bytesIn() - before.bytesIn());
            assertTrue(meter.active().isEmpty());
            SftpException next = assertThrows(SftpException.class, () -> c.write(h, 1024, new byte[1024]));
            assertTrue(next.getMessage().contains("slower than the minimum of 102400 bytes/s"), next.getMessage());
            assertThrows(SftpException.class, h::close);
        }
        awaitNoActiveTransfer();
        assertFalse(Files.exists(root.resolve("alice/stalled.bin")));
        Counters last = totals();
        assertEquals(0, last.filesIn() - before.filesIn());
        assertEquals(1, last.failedIn() - before.failedIn());
    }

    @Test
    void aStalledDownloadIsAbortedButOneReadToTheEndIsNot() throws Exception {
        Files.createDirectories(root.resolve("alice"));
        Files.write(root.resolve("alice/stall-src.bin"), new byte[1 << 20]);
        Files.write(root.resolve("alice/tiny.bin"), new byte[100]);
        awaitNoActiveTransfer();
        Counters before = totals();
        try (ClientSession s = from("127.0.0.25"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpClient.CloseableHandle tiny = c.open("/tiny.bin", EnumSet.of(SftpClient.OpenMode.Read));
            byte[] buf = new byte[1024];
            assertEquals(100, c.read(tiny, 0, buf, 0, buf.length));
            SftpClient.CloseableHandle h = c.open("/stall-src.bin", EnumSet.of(SftpClient.OpenMode.Read));
            assertEquals(1024, c.read(h, 0, buf, 0, buf.length));
            Counters after = awaitFailures(before, 0, 1);
            assertEquals(1, after.failedOut() - before.failedOut());
            SftpException next = assertThrows(SftpException.class, () -> c.read(h, 1024, buf, 0, buf.length));
            assertTrue(next.getMessage().contains("slower than the minimum of 102400 bytes/s"), next.getMessage());
            h.close();
            // The tiny file was sent whole: held open past the grace, it is still a delivered download.
            Thread.sleep(500);
            tiny.close();
        }
        awaitNoActiveTransfer();
        Counters last = totals();
        assertEquals(1, last.filesOut() - before.filesOut());
        assertEquals(1, last.failedOut() - before.failedOut());
    }

    @Test
    void aSlowDownloadIsAbortedAndCountsAFailure() throws Exception {
        Files.createDirectories(root.resolve("alice"));
        Files.write(root.resolve("alice/big.bin"), new byte[4 << 20]);
        awaitNoActiveTransfer();
        Counters before = totals();
        try (ClientSession s = from("127.0.0.23"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (SftpClient.CloseableHandle h = c.open("/big.bin", EnumSet.of(SftpClient.OpenMode.Read))) {
                byte[] buf = new byte[1024];
                long offset = 0;
                SftpException refused = null;
                long deadline = System.currentTimeMillis() + 10_000;
                while (refused == null && System.currentTimeMillis() < deadline) {
                    try {
                        offset += c.read(h, offset, buf, 0, buf.length);
                        Thread.sleep(100);
                    } catch (SftpException e) {
                        refused = e;
                    }
                }
                assertTrue(refused != null, "the slow download was never stopped");
                assertEquals(SftpConstants.SSH_FX_FAILURE, refused.getStatus());
                assertTrue(refused.getMessage().contains("slower than the minimum of 102400 bytes/s"), refused.getMessage());
                // The handle serves nothing more.
                long at = offset;
                assertThrows(SftpException.class, () -> c.read(h, at, buf, 0, buf.length));
            }
        }
        awaitNoActiveTransfer();
        Counters after = totals();
        assertEquals(0, after.filesOut() - before.filesOut());
        assertEquals(1, after.failedOut() - before.failedOut());
    }
}
