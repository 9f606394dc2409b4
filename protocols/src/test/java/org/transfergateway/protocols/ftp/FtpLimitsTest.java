package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPConnectionClosedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/** FTP under limits.*: connections in total and per address, and the minimum transfer rate. */
class FtpLimitsTest {
    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51500-51520}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                limits: {max-connections: 4, max-connections-per-address: 2, min-transfer-rate: 100KiB, rate-grace: 1s}
                """.formatted(root));
        meter = TransferMeter.inMemory();
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = ftp.start().getPort();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    private static FTPClient from(String address) throws IOException {
        FTPClient c = new FTPClient();
        c.connect(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(address), 0);
        return c;
    }

    private static void waitForOpen(int n) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5000;
        while (ftp.openConnections() != n && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(n, ftp.openConnections());
    }

    @Test
    void connectionsOverTheLimitsAreTurnedAwayAndOthersGoOn() throws Exception {
        List<FTPClient> open = new ArrayList<>();
        try {
            open.add(from("127.0.0.11"));
            open.add(from("127.0.0.11"));
            FTPConnectionClosedException third = assertThrows(FTPConnectionClosedException.class, () -> from("127.0.0.11"));
            assertTrue(third.getMessage().contains("421"), third.getMessage());
            open.add(from("127.0.0.12"));
            open.add(from("127.0.0.13"));
            FTPConnectionClosedException fifth = assertThrows(FTPConnectionClosedException.class, () -> from("127.0.0.14"));
            assertTrue(fifth.getMessage().contains("421"), fifth.getMessage());
            assertTrue(open.get(2).login("alice", "secret"));
        } finally {
            for (FTPClient c : open) {
                c.disconnect();
            }
        }
        waitForOpen(0);
        FTPClient again = from("127.0.0.11");
        assertTrue(again.login("alice", "secret"), "a closed connection frees its place");
        again.disconnect();
    }

    @Test
    void anUploadSlowerThanTheMinimumRateIsDroppedAndLeavesNothing() throws Exception {
        waitForOpen(0);
        FTPClient c = from("127.0.0.1"); // data connections come from the default address
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        InputStream trickle = new InputStream() {
            private int sent;

            @Override
            public int read() throws IOException {
                if (sent++ >= 200) {
                    return -1;
                }
                try {
                    Thread.sleep(20); // 50 bytes a second
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                return 'x';
            }
        };
        c.setBufferSize(1);
        boolean stored;
        try {
            stored = c.storeFile("slow.bin", trickle);
        } catch (IOException e) {
            // The data connection was closed under the client mid-stream; the answer follows.
            stored = false;
            c.getReply();
        }
        assertFalse(stored);
        assertTrue(c.getReplyString().startsWith("426 Transfer slower than the minimum"), c.getReplyString());
        assertFalse(Files.exists(root.resolve("alice/slow.bin")));
        assertEquals(1, meter.statistics(u -> true).transferred().failedIn());
        c.disconnect();
    }

    @Test
    void aDownloadReadSlowerThanTheMinimumRateIsDroppedAndCountedFailed() throws Exception {
        Path dir = Files.createDirectories(root.resolve("slow-reader"));
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51530-51540}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                limits: {min-transfer-rate: 10MiB, rate-grace: 1s}
                """.formatted(dir));
        TransferMeter own = TransferMeter.inMemory();
        Files.createDirectories(dir.resolve("alice"));
        Files.write(dir.resolve("alice/big.bin"), new byte[40 << 20]);
        FtpFrontEnd server = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", dir)), own));
        try {
            FTPClient c = new FTPClient();
            c.connect("127.0.0.1", server.start().getPort());
            assertTrue(c.login("alice", "secret"));
            c.enterLocalPassiveMode();
            c.setFileType(FTP.BINARY_FILE_TYPE);
            long read = 0;
            try (InputStream in = c.retrieveFileStream("big.bin")) {
                byte[] buf = new byte[64 << 10];
                for (int n; (n = in.read(buf)) >= 0; ) {
                    read += n;
                    Thread.sleep(50); // about 1 MiB a second
                }
            } catch (IOException e) {
                // the gateway dropped the data connection
            }
            assertTrue(read < (40 << 20), "read " + read);
            long deadline = System.currentTimeMillis() + 10_000;
            while (own.statistics(u -> true).transferred().failedOut() == 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, own.statistics(u -> true).transferred().failedOut());
            assertEquals(0, own.statistics(u -> true).transferred().filesOut());
            c.disconnect();
        } finally {
            server.close();
        }
    }

    /**
     * A client that stops sending in the middle of an upload meets the data connection's
     * idle timeout, also where the upload is read from the socket's channel (which has no
     * timeout of its own): nothing is stored, and the bytes received count as a failed upload.
     */
    @Test
    void aStalledUploadMeetsTheIdleTimeoutAndLeavesNothing() throws Exception {
        Path dir = Files.createDirectories(root.resolve("stalled"));
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51541-51550, idle-timeout: 2s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(dir));
        TransferMeter own = TransferMeter.inMemory();
        FtpFrontEnd server = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", dir)), own));
        try {
            int serverPort = server.start().getPort();
            FTPClient c = new FTPClient();
            c.connect("127.0.0.1", serverPort);
            assertTrue(c.login("alice", "secret"));
            c.enterLocalPassiveMode();
            c.setFileType(FTP.BINARY_FILE_TYPE);
            java.io.OutputStream out = c.storeFileStream("stalled.bin");
            out.write(new byte[1000]);
            out.flush(); // and then nothing more
            long deadline = System.currentTimeMillis() + 15_000;
            while (own.statistics(u -> true).transferred().failedIn() == 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, own.statistics(u -> true).transferred().failedIn());
            assertEquals(1000, own.statistics(u -> true).transferred().bytesIn());
            assertEquals(0, own.statistics(u -> true).transferred().filesIn());
            assertFalse(Files.exists(dir.resolve("alice/stalled.bin")));
            try {
                out.close();
                c.disconnect();
            } catch (IOException e) {
                // the gateway closed both connections
            }

            // The same for a download that the client stops reading (sent with sendfile).
            Files.write(Files.createDirectories(dir.resolve("alice")).resolve("big.bin"), new byte[64 << 20]);
            FTPClient d = new FTPClient();
            d.connect("127.0.0.1", serverPort);
            assertTrue(d.login("alice", "secret"));
            d.enterLocalPassiveMode();
            d.setFileType(FTP.BINARY_FILE_TYPE);
            InputStream in = d.retrieveFileStream("big.bin");
            assertEquals(1, in.read(new byte[1])); // and then nothing more
            deadline = System.currentTimeMillis() + 15_000;
            while (own.statistics(u -> true).transferred().failedOut() == 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, own.statistics(u -> true).transferred().failedOut());
            assertEquals(0, own.statistics(u -> true).transferred().filesOut());
            long sent = own.statistics(u -> true).transferred().bytesOut();
            assertTrue(sent > 0 && sent < (64 << 20), "sent " + sent);
            try {
                in.close();
                d.disconnect();
            } catch (IOException e) {
                // the gateway closed both connections
            }
        } finally {
            server.close();
        }
    }

    @Test
    void anIdleControlConnectionIsClosed() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51541-51545, idle-timeout: 1s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(root));
        FtpFrontEnd server = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory()));
        try {
            FTPClient c = new FTPClient();
            c.connect("127.0.0.1", server.start().getPort());
            assertTrue(c.login("alice", "secret"));
            Thread.sleep(3500);
            int reply;
            try {
                reply = c.sendCommand("NOOP");
            } catch (FTPConnectionClosedException | java.net.SocketException e) {
                reply = 421;
            }
            assertEquals(421, reply, c.getReplyString());
        } finally {
            server.close();
        }
    }
}
