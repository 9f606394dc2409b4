package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.commons.net.ftp.FTPReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.testing.PatternStream;

/** The FTP front end over local disk, driven by commons-net's FTPClient and raw sockets. */
class FtpFrontEndTest {
    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;
    static Path aliceHome;

    FTPClient client;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp:
                  port: 0
                  passive-ports: 51000-51100
                storage:
                  backends: [{name: local, type: local, root: %s}]
                users:
                  - {name: alice, password: secret}
                  - {name: bob, password: hunter2}
                """.formatted(root));
        Storage local = new LocalStorage("local", root);
        meter = TransferMeter.inMemory();
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), new Accounts(config, Map.of("local", local), meter));
        port = ftp.start().getPort();
        aliceHome = root.resolve("alice");
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    @BeforeEach
    void login() throws IOException {
        client = connect("alice", "secret");
    }

    @AfterEach
    void logout() throws IOException {
        if (client.isConnected()) {
            client.disconnect();
        }
    }

    static FTPClient connect(String user, String password) throws IOException {
        FTPClient c = new FTPClient();
        c.setControlEncoding("UTF-8");
        c.connect("127.0.0.1", port);
        assertTrue(c.login(user, password), c.getReplyString());
        c.enterLocalPassiveMode();
        assertTrue(c.setFileType(FTP.BINARY_FILE_TYPE));
        return c;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private byte[] download(String path) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(client.retrieveFile(path, out), client.getReplyString());
        return out.toByteArray();
    }

    private static Counters totals() {
        return meter.statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
    }

    private static StoredTotals stored() {
        return meter.statistics(u -> true).storedByUser().getOrDefault("alice", StoredTotals.ZERO);
    }

    /**
     * The sessions' filter chain: the ABOR watch before MINA's executor, and none of MINA's
     * MDC filters, which copied addresses into the logging MDC for every event.
     */
    @Test
    void theListenerRunsWithoutMinasMdcFilters() {
        List<String> names = ftp.filterNames();
        assertTrue(names.indexOf("abortWatch") >= 0 && names.indexOf("abortWatch") + 1 == names.indexOf("threadPool"), names.toString());
        assertTrue(names.contains("codec"), names.toString());
        assertFalse(names.contains("mdcFilter") || names.contains("mdcFilter2"), names.toString());
    }

    @Test
    void uploadLandsInTheHomeAndDownloadsByteForByte() throws IOException {
        byte[] data = random(300_000, 1);
        Counters before = totals();
        StoredTotals storedBefore = stored();
        assertTrue(client.storeFile("/reports-a.bin", new ByteArrayInputStream(data)));
        assertEquals(226, client.getReplyCode());
        assertArrayEquals(data, Files.readAllBytes(aliceHome.resolve("reports-a.bin")));
        assertArrayEquals(data, download("reports-a.bin"));
        Counters after = totals();
        assertEquals(before.bytesIn() + data.length, after.bytesIn());
        assertEquals(before.bytesOut() + data.length, after.bytesOut());
        assertEquals(before.filesIn() + 1, after.filesIn());
        assertEquals(before.filesOut() + 1, after.filesOut());
        assertEquals(storedBefore.plus(data.length, 1), stored());
    }

    @Test
    void overwriteCountsOnlyTheNewSize() throws IOException {
        StoredTotals before = stored();
        assertTrue(client.storeFile("over.bin", new ByteArrayInputStream(random(1000, 2))));
        assertTrue(client.storeFile("over.bin", new ByteArrayInputStream(random(400, 3))));
        assertArrayEquals(random(400, 3), Files.readAllBytes(aliceHome.resolve("over.bin")));
        assertEquals(before.plus(400, 1), stored());
    }

    @Test
    void deleteRemovesTheFileAndItsStoredBytes() throws IOException {
        StoredTotals before = stored();
        assertTrue(client.storeFile("gone.bin", new ByteArrayInputStream(random(777, 4))));
        assertTrue(client.deleteFile("gone.bin"), client.getReplyString());
        assertFalse(Files.exists(aliceHome.resolve("gone.bin")));
        assertEquals(before, stored());
        assertFalse(client.deleteFile("gone.bin"));
        assertEquals(550, client.getReplyCode());
    }

    @Test
    void renameMovesTheFileAndKeepsTheTotals() throws IOException {
        assertTrue(client.storeFile("old-name.txt", new ByteArrayInputStream("hello".getBytes())));
        StoredTotals before = stored();
        assertTrue(client.makeDirectory("moved"));
        assertTrue(client.rename("old-name.txt", "moved/new-name.txt"), client.getReplyString());
        assertFalse(Files.exists(aliceHome.resolve("old-name.txt")));
        assertEquals("hello", Files.readString(aliceHome.resolve("moved/new-name.txt")));
        assertEquals(before, stored());
    }

    @Test
    void renameOverAnExistingFileSubtractsTheReplacedOne() throws IOException {
        assertTrue(client.storeFile("r1.txt", new ByteArrayInputStream("12345".getBytes())));
        assertTrue(client.storeFile("r2.txt", new ByteArrayInputStream("abc".getBytes())));
        StoredTotals before = stored();
        assertTrue(client.rename("r1.txt", "r2.txt"));
        assertEquals("12345", Files.readString(aliceHome.resolve("r2.txt")));
        assertEquals(before.plus(-3, -1), stored());
    }

    @Test
    void listingShowsFilesAndFolders() throws IOException {
        assertTrue(client.makeDirectory("listing"));
        assertTrue(client.changeWorkingDirectory("listing"));
        assertEquals("/listing", client.printWorkingDirectory());
        assertTrue(client.storeFile("one.txt", new ByteArrayInputStream("1".getBytes())));
        assertTrue(client.makeDirectory("sub"));
        FTPFile[] entries = client.mlistDir();
        assertEquals(List.of("one.txt:file:1", "sub:dir:0"), Arrays.stream(entries)
                .map(f -> f.getName() + ":" + (f.isDirectory() ? "dir" : "file") + ":" + (f.isDirectory() ? 0 : f.getSize()))
                .sorted().toList());
        assertEquals(List.of("one.txt", "sub"), Arrays.stream(client.listNames()).sorted().toList());
        FTPFile[] list = client.listFiles();
        assertEquals(2, list.length);
        assertEquals(1, client.mlistFile("one.txt").getSize());
        assertTrue(client.changeToParentDirectory());
        assertEquals("/", client.printWorkingDirectory());
        assertTrue(client.removeDirectory("listing/sub"));
        assertFalse(client.removeDirectory("listing"));
        assertEquals(550, client.getReplyCode());
    }

    @Test
    void emptyFileIsStoredAndCounted() throws IOException {
        Counters before = totals();
        assertTrue(client.storeFile("empty.bin", new ByteArrayInputStream(new byte[0])));
        assertEquals(0, Files.size(aliceHome.resolve("empty.bin")));
        assertArrayEquals(new byte[0], download("empty.bin"));
        assertEquals(before.filesIn() + 1, totals().filesIn());
        assertEquals(before.filesOut() + 1, totals().filesOut());
    }

    @Test
    void utf8NamesRoundTrip() throws IOException {
        String name = "données-überweisung ✓ 日本.txt";
        assertTrue(client.storeFile(name, new ByteArrayInputStream("ü".getBytes(StandardCharsets.UTF_8))), client.getReplyString());
        assertTrue(Files.exists(aliceHome.resolve(name)));
        assertTrue(Arrays.asList(client.listNames()).contains(name));
        assertEquals("ü", new String(download(name), StandardCharsets.UTF_8));
        assertEquals(FTPReply.FILE_STATUS, client.sendCommand("SIZE", name));
        assertEquals("213 2", client.getReplyString().trim());
    }

    @Test
    void hundredMebibytesStreamThroughAndMatch() throws Exception {
        long size = 100L << 20;
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        Counters before = totals();
        try (InputStream in = new DigestInputStream(new PatternStream(size, 12345), sent)) {
            assertTrue(client.storeFile("big.bin", in), client.getReplyString());
        }
        assertEquals(size, Files.size(aliceHome.resolve("big.bin")));
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        try (InputStream in = client.retrieveFileStream("big.bin")) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                got.update(buf, 0, n);
            }
        }
        assertTrue(client.completePendingCommand());
        assertArrayEquals(sent.digest(), got.digest());
        assertEquals(before.bytesIn() + size, totals().bytesIn());
        assertEquals(before.bytesOut() + size, totals().bytesOut());
    }

    @Test
    void resumeWithRestAndAppendWithAppe() throws IOException {
        assertTrue(client.storeFile("resume.txt", new ByteArrayInputStream("hello world".getBytes())));
        client.setRestartOffset(5);
        assertTrue(client.storeFile("resume.txt", new ByteArrayInputStream("!!".getBytes())), client.getReplyString());
        assertEquals("hello!!", Files.readString(aliceHome.resolve("resume.txt")));
        assertTrue(client.appendFile("resume.txt", new ByteArrayInputStream("??".getBytes())));
        assertTrue(client.getReplyString().startsWith("226 Transfer complete: 2 bytes appended"), client.getReplyString());
        assertEquals("hello!!??", Files.readString(aliceHome.resolve("resume.txt")));
        client.setRestartOffset(6);
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        assertTrue(client.retrieveFile("resume.txt", tail));
        assertEquals("!??", tail.toString());
    }

    @Test
    void binaryTransfersKeepEveryByteAndAsciiOnesConvertLineEnds() throws IOException {
        byte[] body = "one\ntwo\r\nthree\n".getBytes(StandardCharsets.US_ASCII);
        Counters before = totals();
        assertTrue(client.storeFile("lines.txt", new ByteArrayInputStream(body)));
        assertArrayEquals(body, Files.readAllBytes(aliceHome.resolve("lines.txt")));
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        assertTrue(client.retrieveFile("lines.txt", raw));
        assertEquals("226 Transfer complete: " + body.length + " bytes sent", client.getReplyString().trim());
        assertArrayEquals(body, raw.toByteArray());
        // ASCII goes through MINA's converting loop. TYPE A is sent by hand, so that the
        // client itself converts nothing and the test sees the bytes on the wire.
        assertEquals(200, client.sendCommand("TYPE", "A"));
        try {
            java.io.InputStream wire = client.retrieveFileStream("lines.txt");
            byte[] onTheWire;
            try (wire) {
                onTheWire = wire.readAllBytes();
            }
            assertTrue(client.completePendingCommand(), client.getReplyString());
            assertEquals("one\r\ntwo\r\nthree\r\n", new String(onTheWire, StandardCharsets.US_ASCII));
            assertTrue(client.storeFile("crlf.txt", new ByteArrayInputStream("a\r\nb\r\n".getBytes(StandardCharsets.US_ASCII))));
            assertEquals("a\nb\n", Files.readString(aliceHome.resolve("crlf.txt")));
        } finally {
            assertEquals(200, client.sendCommand("TYPE", "I"));
        }
        assertEquals(before.filesOut() + 2, totals().filesOut());
        assertEquals(before.bytesOut() + 2L * body.length, totals().bytesOut());
    }

    /** Data buffers are reused across transfers: concurrent sessions must never see each other's bytes. */
    @Test
    void concurrentSessionsKeepTheirOwnBytes() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int session = t;
            done.add(pool.submit(() -> {
                FTPClient c = connect("alice", "secret");
                try {
                    for (int i = 0; i < 5; i++) {
                        byte[] body = random(300_000 + 4099 * session + i, 1000L * session + i);
                        String name = "conc-" + session + "-" + i + ".bin";
                        assertTrue(c.storeFile(name, new ByteArrayInputStream(body)), c.getReplyString());
                        ByteArrayOutputStream back = new ByteArrayOutputStream();
                        assertTrue(c.retrieveFile(name, back), c.getReplyString());
                        assertArrayEquals(body, back.toByteArray(), name);
                        assertArrayEquals(body, Files.readAllBytes(aliceHome.resolve(name)), name);
                    }
                } finally {
                    c.disconnect();
                }
                return null;
            }));
        }
        try {
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void storeUniqueNamesTheFileItMade() throws IOException {
        assertTrue(client.storeUniqueFile(new ByteArrayInputStream("u".getBytes())), client.getReplyString());
        assertTrue(Arrays.stream(client.listNames()).anyMatch(n -> n.startsWith("stou-")));
    }

    @Test
    void anonymousLoginIsRefused() throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        assertFalse(c.login("anonymous", "guest@example.com"));
        assertEquals(530, c.getReplyCode());
        c.disconnect();
    }

    @Test
    void wrongPasswordIsRefused() throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        assertFalse(c.login("alice", "wrong"));
        assertEquals(530, c.getReplyCode());
        c.disconnect();
    }

    @Test
    void portToAnotherAddressOrPrivilegedPortIsRefused() throws IOException {
        assertEquals(501, client.sendCommand("PORT", "10,0,0,1,200,10"));
        assertEquals(501, client.sendCommand("EPRT", "|1|10.0.0.1|51200|"));
        assertEquals(501, client.sendCommand("PORT", "127,0,0,1,0,21"));
        assertEquals(501, client.sendCommand("EPRT", "|1|127.0.0.1|22|"));
        assertEquals(200, client.sendCommand("PORT", "127,0,0,1,200,10"));
    }

    @Test
    void pathsCannotLeaveTheHome() throws IOException {
        assertFalse(client.changeWorkingDirectory("../bob"));
        assertFalse(client.storeFile("../bob/planted.txt", new ByteArrayInputStream("x".getBytes())));
        assertEquals(553, client.getReplyCode());
        assertFalse(Files.exists(root.resolve("bob/planted.txt")));
        assertFalse(client.storeFile("/../../etc/x", new ByteArrayInputStream("x".getBytes())));
        assertEquals("/", client.printWorkingDirectory());
    }

    @Test
    void uploadCutOffMidwayLeavesNoFileAndCountsAFailure() throws Exception {
        Counters before = totals();
        assertTrue(FTPReply.isPositiveCompletion(client.pasv()));
        String reply = client.getReplyString();
        String[] nums = reply.substring(reply.indexOf('(') + 1, reply.indexOf(')')).split(",");
        int dataPort = Integer.parseInt(nums[4].trim()) * 256 + Integer.parseInt(nums[5].trim());
        try (Socket data = new Socket()) {
            data.connect(new InetSocketAddress("127.0.0.1", dataPort));
            client.sendCommand("STOR", "cut.bin");
            assertEquals(150, client.getReplyCode());
            OutputStream out = data.getOutputStream();
            out.write(random(200_000, 5));
            out.flush();
            Thread.sleep(200);
            data.setSoLinger(true, 0); // a reset, not an orderly end of file
        }
        assertEquals(426, client.getReply(), client.getReplyString());
        assertFalse(Files.exists(aliceHome.resolve("cut.bin")));
        Counters after = totals();
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.filesIn(), after.filesIn());
        assertTrue(after.bytesIn() - before.bytesIn() > 0 && after.bytesIn() - before.bytesIn() <= 200_000);
        try (var tmp = Files.list(root.resolve(".transfer-gateway-tmp"))) {
            assertEquals(0, tmp.count());
        }
        // the session goes on
        assertTrue(client.storeFile("after-cut.bin", new ByteArrayInputStream("ok".getBytes())));
    }

    /** Sends one command on a raw control connection and reads its reply line(s). */
    private static String command(java.io.BufferedReader in, OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        String reply = in.readLine();
        while (reply != null && reply.length() > 3 && reply.charAt(3) == '-') {
            reply = in.readLine();
        }
        return reply;
    }

    @Test
    void aClientThatDiesMidUploadLeavesNoFile() throws Exception {
        Counters before = totals();
        Socket control = new Socket("127.0.0.1", port);
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(control.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = control.getOutputStream();
        assertTrue(in.readLine().startsWith("220"));
        assertTrue(command(in, out, "USER alice").startsWith("331"));
        assertTrue(command(in, out, "PASS secret").startsWith("230"));
        assertTrue(command(in, out, "TYPE I").startsWith("200"));
        String pasv = command(in, out, "PASV");
        String[] nums = pasv.substring(pasv.indexOf('(') + 1, pasv.indexOf(')')).split(",");
        Socket data = new Socket("127.0.0.1", Integer.parseInt(nums[4].trim()) * 256 + Integer.parseInt(nums[5].trim()));
        assertTrue(command(in, out, "STOR died.bin").startsWith("150"));
        data.getOutputStream().write(random(100_000, 6));
        data.getOutputStream().flush();
        Thread.sleep(100);
        // The client goes away: its control connection ends before the data connection does.
        control.close();
        Thread.sleep(200);
        data.close();
        long deadline = System.currentTimeMillis() + 5000;
        while (totals().failedIn() == before.failedIn() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(before.failedIn() + 1, totals().failedIn());
        assertEquals(before.filesIn(), totals().filesIn());
        assertFalse(Files.exists(aliceHome.resolve("died.bin")));
    }

    @Test
    void aPassiveDataConnectionFromAnotherAddressIsDropped() throws Exception {
        Socket control = new Socket("127.0.0.1", port);
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(control.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = control.getOutputStream();
        in.readLine();
        command(in, out, "USER alice");
        command(in, out, "PASS secret");
        String pasv = command(in, out, "PASV");
        String[] nums = pasv.substring(pasv.indexOf('(') + 1, pasv.indexOf(')')).split(",");
        int dataPort = Integer.parseInt(nums[4].trim()) * 256 + Integer.parseInt(nums[5].trim());
        try (Socket foreign = new Socket()) {
            foreign.bind(new InetSocketAddress("127.0.0.2", 0));
            foreign.connect(new InetSocketAddress("127.0.0.1", dataPort));
            foreign.setSoTimeout(5000);
            String reply = command(in, out, "STOR stolen.bin");
            if (reply.startsWith("150")) {
                reply = in.readLine();
            }
            assertTrue(reply.startsWith("425") || reply.startsWith("426"), reply);
            foreign.getOutputStream().write("sneaky".getBytes());
            assertEquals(-1, foreign.getInputStream().read(), "the foreign connection is closed");
        } catch (java.net.SocketException expected) {
            // reset by the gateway: dropped as well
        }
        assertFalse(Files.exists(aliceHome.resolve("stolen.bin")));
        control.close();
    }

    @Test
    void aNameWithABareCarriageReturnCannotSmuggleASecondCommand() throws Exception {
        assertTrue(client.storeFile("victim.txt", new ByteArrayInputStream("keep".getBytes())));
        Socket control = new Socket("127.0.0.1", port);
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(control.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = control.getOutputStream();
        in.readLine();
        command(in, out, "USER alice");
        command(in, out, "PASS secret");
        String reply = command(in, out, "MKD a\rDELE victim.txt");
        assertTrue(reply.startsWith("553") || reply.startsWith("550") || reply.startsWith("501"), reply);
        assertEquals("200 Command NOOP okay.", command(in, out, "NOOP"));
        control.close();
        assertEquals("keep", Files.readString(aliceHome.resolve("victim.txt")));
    }

    @Test
    void everyCommandOfTheContractAnswersAsItsRfcSays() throws IOException {
        assertTrue(client.storeFile("cmd.txt", new ByteArrayInputStream("12345".getBytes())));
        assertEquals(215, client.sendCommand("SYST"));
        assertEquals(211, client.sendCommand("FEAT"));
        assertTrue(client.getReplyString().contains("UTF8"), client.getReplyString());
        assertTrue(client.getReplyString().contains("MLST"), client.getReplyString());
        assertFalse(client.getReplyString().contains("MODE Z"), client.getReplyString());
        assertFalse(client.getReplyString().contains("AUTH"), "no TLS configured: " + client.getReplyString());
        assertEquals(504, client.sendCommand("MODE", "Z"));
        assertEquals(501, client.sendCommand("MODE"));
        assertEquals(200, client.sendCommand("OPTS", "UTF8 ON"));
        assertEquals(257, client.sendCommand("PWD"));
        assertEquals(200, client.sendCommand("TYPE", "A"));
        assertEquals(200, client.sendCommand("TYPE", "I"));
        assertEquals(200, client.sendCommand("MODE", "S"));
        assertEquals(200, client.sendCommand("STRU", "F"));
        assertEquals(213, client.sendCommand("SIZE", "cmd.txt"));
        assertEquals(213, client.sendCommand("MDTM", "cmd.txt"));
        assertEquals(5, client.mlistFile("cmd.txt").getSize());
        assertEquals(250, client.getReplyCode());
        assertEquals(211, client.sendCommand("STAT"));
        assertEquals(200, client.sendCommand("NOOP"));
        assertEquals(229, client.sendCommand("EPSV"));
        assertTrue(FTPReply.isPositiveCompletion(client.sendCommand("ABOR")), client.getReplyString());
        assertEquals(250, client.sendCommand("CWD", "/"));
        assertEquals(350, client.sendCommand("REST", "2"));
        assertEquals(350, client.sendCommand("RNFR", "cmd.txt"));
        assertEquals(250, client.sendCommand("RNTO", "cmd2.txt"));
        assertEquals(550, client.sendCommand("SIZE", "cmd.txt"));
        // EPSV data connections work end to end
        client.setUseEPSVwithIPv4(true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(client.retrieveFile("cmd2.txt", out), client.getReplyString());
        assertEquals("12345", out.toString());
        // active mode to the client's own address works
        client.enterLocalActiveMode(); // on a port the system picks: a fixed range inside the
        // ephemeral ports (32768-60999) can meet one an outgoing connection holds
        out.reset();
        assertTrue(client.retrieveFile("cmd2.txt", out), client.getReplyString());
        assertEquals("12345", out.toString());
        assertEquals(221, client.sendCommand("QUIT"));
    }

    @Test
    void usersDoNotSeeEachOther() throws IOException {
        assertTrue(client.storeFile("private.txt", new ByteArrayInputStream("a".getBytes())));
        FTPClient bob = connect("bob", "hunter2");
        try {
            assertNotNull(bob.listNames());
            assertFalse(Arrays.asList(bob.listNames()).contains("private.txt"));
            assertEquals(550, bob.sendCommand("SIZE", "private.txt"));
        } finally {
            bob.disconnect();
        }
    }
}
