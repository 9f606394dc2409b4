package org.transfergateway.protocols.sftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.core.CoreModuleProperties;
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

/**
 * The SFTP front end driven by MINA SSHD's own SFTP client over loopback: logins, what a
 * session may not do, transfers byte for byte with exact totals, the file operations, and
 * a session that dies mid-upload.
 */
class SftpFrontEndTest {
    @TempDir
    static Path root;
    @TempDir
    static Path data;
    static SftpFrontEnd sftp;
    static int port;
    static TransferMeter meter;
    static KeyPair aliceKey;
    static SshClient client;

    @BeforeAll
    static void start() throws Exception {
        aliceKey = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                sftp: {port: 0, host-key: %s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                security: {login-failure-delay: 0s}
                users:
                  - {name: alice, password: secret, authorized-keys: ["%s alice@test"]}
                  - {name: bob, password: other}
                  - {name: reader, password: r, access: read-only}
                  - {name: dave, password: d, quota: {bytes: 1000}}
                """.formatted(data.resolve("keys/host_key"), root, PublicKeyEntry.toString(aliceKey.getPublic())));
        meter = TransferMeter.inMemory();
        sftp = new SftpFrontEnd(config.sftp(), config.limits(), new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = sftp.start().getPort();
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        CoreModuleProperties.REQUEST_EXEC_REPLY.set(client, true);
        CoreModuleProperties.REQUEST_SHELL_REPLY.set(client, true);
        client.start();
    }

    @AfterAll
    static void stop() throws IOException {
        client.stop();
        sftp.close();
    }

    static ClientSession session(String user, String password) throws IOException {
        ClientSession s = client.connect(user, "127.0.0.1", port).verify(Duration.ofSeconds(10)).getClientSession();
        s.addPasswordIdentity(password);
        s.auth().verify(Duration.ofSeconds(10));
        return s;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static Counters sftpTotals() {
        return meter.statistics(u -> true).byProtocol().getOrDefault("sftp", Counters.ZERO);
    }

    static void awaitNoActiveTransfer() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!meter.active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(meter.active().isEmpty(), "a transfer is still running");
    }

    @Test
    void hostKeyIsCreatedOnFirstStartReadableByTheOwnerOnly() throws IOException {
        Path key = data.resolve("keys/host_key");
        assertTrue(Files.readString(key).startsWith("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertTrue(Files.readString(Path.of(key + ".pub")).startsWith("ssh-ed25519 "));
    }

    @Test
    void passwordLoginWorksAndAWrongPasswordIsRefused() throws IOException {
        try (ClientSession s = session("alice", "secret")) {
            assertTrue(s.isAuthenticated());
        }
        assertThrows(IOException.class, () -> session("alice", "wrong").close());
        assertThrows(IOException.class, () -> session("nobody", "secret").close());
    }

    @Test
    void keyLoginWorksWithAnAuthorizedKeyOnly() throws IOException {
        try (ClientSession s = client.connect("alice", "127.0.0.1", port).verify(Duration.ofSeconds(10)).getClientSession()) {
            s.addPublicKeyIdentity(aliceKey);
            s.auth().verify(Duration.ofSeconds(10));
            try (SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
                assertEquals("/", c.canonicalPath("."));
            }
        }
        // The same key is not bob's.
        try (ClientSession s = client.connect("bob", "127.0.0.1", port).verify(Duration.ofSeconds(10)).getClientSession()) {
            s.addPublicKeyIdentity(aliceKey);
            assertThrows(IOException.class, () -> s.auth().verify(Duration.ofSeconds(10)));
        }
    }

    @Test
    void noCredentialsAreRefused() throws IOException {
        try (ClientSession s = client.connect("alice", "127.0.0.1", port).verify(Duration.ofSeconds(10)).getClientSession()) {
            assertThrows(IOException.class, () -> s.auth().verify(Duration.ofSeconds(10)));
        }
    }

    @Test
    void shellExecAndForwardingAreRefused() throws Exception {
        try (ClientSession s = session("alice", "secret")) {
            // The session channel opens; its shell or exec request is refused and the channel closes.
            try (ChannelShell shell = s.createShellChannel()) {
                shell.open().verify(Duration.ofSeconds(10));
                assertTrue(shell.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(10)).contains(ClientChannelEvent.CLOSED));
                assertEquals(null, shell.getExitStatus());
            }
            try (ChannelExec exec = s.createExecChannel("id")) {
                exec.open().verify(Duration.ofSeconds(10));
                assertTrue(exec.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(10)).contains(ClientChannelEvent.CLOSED));
                assertEquals(null, exec.getExitStatus());
            }
            // A local forward is set up on the client; the server refuses each channel through it.
            SshdSocketAddress local = s.startLocalPortForwarding(new SshdSocketAddress("127.0.0.1", 0),
                    new SshdSocketAddress("127.0.0.1", port));
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", local.getPort()), 5000);
                socket.setSoTimeout(10_000);
                assertEquals(-1, socket.getInputStream().read(), "the forwarded connection was not closed");
            }
        }
    }

    @Test
    void uploadThenDownloadAreByteForByteAndCountedExactly() throws Exception {
        byte[] big = random(3 * 1024 * 1024 + 17, 7);
        awaitNoActiveTransfer();
        Counters before = sftpTotals();
        try (ClientSession s = session("alice", "secret"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/big.bin")) {
                out.write(big);
            }
            c.write("/empty.bin").close(); // a file opened and closed: 0 bytes
            try (InputStream in = c.read("/big.bin")) {
                assertArrayEquals(big, in.readAllBytes());
            }
            try (InputStream in = c.read("/empty.bin")) {
                assertEquals(0, in.readAllBytes().length);
            }
            assertEquals(big.length, c.stat("/big.bin").getSize());
        }
        assertArrayEquals(big, Files.readAllBytes(root.resolve("alice/big.bin")));
        assertEquals(0, Files.size(root.resolve("alice/empty.bin")));
        awaitNoActiveTransfer();
        Counters after = sftpTotals();
        assertEquals(new Counters(before.bytesIn() + big.length, before.bytesOut() + big.length,
                before.filesIn() + 2, before.filesOut() + 2, before.failedIn(), before.failedOut()), after);
    }

    @Test
    void readsAtAnOffsetResumeADownload() throws Exception {
        byte[] body = random(200_000, 3);
        Files.createDirectories(root.resolve("alice"));
        try (ClientSession s = session("alice", "secret"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/resume.bin")) {
                out.write(body);
            }
            awaitNoActiveTransfer();
            Counters before = sftpTotals();
            try (SftpClient.CloseableHandle h = c.open("/resume.bin", SftpClient.OpenMode.Read)) {
                byte[] buf = new byte[1000];
                assertEquals(1000, c.read(h, 150_000, buf, 0, 1000));
                assertArrayEquals(java.util.Arrays.copyOfRange(body, 150_000, 151_000), buf);
            }
            awaitNoActiveTransfer();
            Counters after = sftpTotals();
            assertEquals(before.bytesOut() + 1000, after.bytesOut());
            assertEquals(before.failedOut() + 1, after.failedOut(), "a download not read to its end");
        }
    }

    @Test
    void listingMkdirRmdirRenameAndRemoveWork() throws Exception {
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            c.mkdir("/docs");
            try (OutputStream out = c.write("/docs/a.txt")) {
                out.write("hello".getBytes());
            }
            Set<String> names = new TreeSet<>();
            for (SftpClient.DirEntry e : c.readDir("/docs")) {
                names.add(e.getFilename());
            }
            assertEquals(Set.of(".", "..", "a.txt"), names);
            SftpClient.Attributes folder = c.stat("/docs");
            assertTrue(folder.isDirectory());
            assertEquals(0755, folder.getPermissions() & 0777);
            assertEquals(0644, c.stat("/docs/a.txt").getPermissions() & 0777);

            c.rename("/docs/a.txt", "/docs/b.txt");
            assertFalse(Files.exists(root.resolve("bob/docs/a.txt")));
            assertEquals("hello", Files.readString(root.resolve("bob/docs/b.txt")));

            SftpException notEmpty = assertThrows(SftpException.class, () -> c.rmdir("/docs"));
            assertEquals(SftpConstants.SSH_FX_FAILURE, notEmpty.getStatus());
            c.remove("/docs/b.txt");
            c.rmdir("/docs");
            assertFalse(Files.exists(root.resolve("bob/docs")));

            SftpException missing = assertThrows(SftpException.class, () -> c.stat("/nothing.bin"));
            assertEquals(SftpConstants.SSH_FX_NO_SUCH_FILE, missing.getStatus());
            assertThrows(SftpException.class, () -> c.remove("/nothing.bin"));
            // A path that climbs above the home stays in it.
            assertEquals("/", c.canonicalPath("/../.."));
        }
    }

    @Test
    void setstatOfTheModificationTimeIsKept() throws Exception {
        FileTime when = FileTime.from(Instant.parse("2024-05-06T07:08:09Z"));
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/t.txt")) {
                out.write("x".getBytes());
            }
            c.setStat("/t.txt", new SftpClient.Attributes().accessTime(when).modifyTime(when).perms(0600));
            assertEquals(when, c.stat("/t.txt").getModifyTime());

            // Set on the open handle before its close, as sftp put -p does: kept once the file exists.
            FileTime later = FileTime.from(Instant.parse("2025-01-02T03:04:05Z"));
            try (SftpClient.CloseableHandle h = c.open("/p.txt", SftpClient.OpenMode.Write, SftpClient.OpenMode.Create,
                    SftpClient.OpenMode.Truncate)) {
                c.write(h, 0, "abc".getBytes());
                c.setStat(h, new SftpClient.Attributes().accessTime(later).modifyTime(later).perms(0644));
            }
            assertEquals(later, c.stat("/p.txt").getModifyTime());
        }
    }

    @Test
    void aWriteOutOfOrderIsRefusedAndLeavesNothing() throws Exception {
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpException e;
            try (SftpClient.CloseableHandle h = c.open("/holes.bin", SftpClient.OpenMode.Write, SftpClient.OpenMode.Create,
                    SftpClient.OpenMode.Truncate)) {
                c.write(h, 0, new byte[10]);
                e = assertThrows(SftpException.class, () -> c.write(h, 100, new byte[10]));
            } catch (SftpException closeFailed) {
                e = closeFailed;
            }
            assertEquals(SftpConstants.SSH_FX_FAILURE, e.getStatus());
            assertTrue(e.getMessage().contains("random-access writes are not supported; write files in order"), e.getMessage());
            assertFalse(Files.exists(root.resolve("bob/holes.bin")));
        }
    }

    @Test
    void aWriteAtTheEndOfAnExistingFileContinuesIt() throws Exception {
        byte[] first = random(1000, 1);
        byte[] rest = random(500, 2);
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/grow.bin")) {
                out.write(first);
            }
            awaitNoActiveTransfer();
            Counters before = sftpTotals();
            try (SftpClient.CloseableHandle h = c.open("/grow.bin", SftpClient.OpenMode.Write)) {
                c.write(h, 1000, rest);
            }
            awaitNoActiveTransfer();
            byte[] all = Files.readAllBytes(root.resolve("bob/grow.bin"));
            assertEquals(1500, all.length);
            assertArrayEquals(first, java.util.Arrays.copyOfRange(all, 0, 1000));
            assertArrayEquals(rest, java.util.Arrays.copyOfRange(all, 1000, 1500));
            assertEquals(before.bytesIn() + 500, sftpTotals().bytesIn(), "only the client's bytes count");
        }
    }

    @Test
    void aSessionThatDiesMidUploadLeavesNothingAndCountsAFailedUpload() throws Exception {
        awaitNoActiveTransfer();
        Counters before = sftpTotals();
        ClientSession s = session("alice", "secret");
        SftpClient c = SftpClientFactory.instance().createSftpClient(s);
        SftpClient.CloseableHandle h = c.open("/cut.bin", SftpClient.OpenMode.Write, SftpClient.OpenMode.Create,
                SftpClient.OpenMode.Truncate);
        byte[] chunk = random(32 * 1024, 5);
        for (int i = 0; i < 4; i++) {
            c.write(h, (long) i * chunk.length, chunk); // each one acknowledged: the server has the bytes
        }
        s.close(true); // the connection drops without a CLOSE of the handle
        awaitNoActiveTransfer();
        assertFalse(Files.exists(root.resolve("alice/cut.bin")));
        Counters after = sftpTotals();
        assertEquals(before.filesIn(), after.filesIn());
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.bytesIn() + 4L * chunk.length, after.bytesIn());
    }

    @Test
    void aSessionThatEndsWithADownloadOpenCountsItByWhetherItWasSentToTheEnd() throws Exception {
        Files.createDirectories(root.resolve("alice"));
        Files.write(root.resolve("alice/left-open.bin"), random(100_000, 6));
        awaitNoActiveTransfer();
        Counters before = sftpTotals();
        // Read to the last byte, then gone without a CLOSE (as lftp leaves at the end of a mirror): delivered.
        ClientSession s = session("alice", "secret");
        SftpClient c = SftpClientFactory.instance().createSftpClient(s);
        SftpClient.CloseableHandle h = c.open("/left-open.bin", SftpClient.OpenMode.Read);
        byte[] buf = new byte[100_000];
        int got = 0;
        while (got < buf.length) {
            got += c.read(h, got, buf, got, buf.length - got);
        }
        s.close(true);
        awaitNoActiveTransfer();
        Counters after = sftpTotals();
        assertEquals(before.filesOut() + 1, after.filesOut());
        assertEquals(before.failedOut(), after.failedOut());
        // Gone half-way: failed.
        s = session("alice", "secret");
        c = SftpClientFactory.instance().createSftpClient(s);
        h = c.open("/left-open.bin", SftpClient.OpenMode.Read);
        assertEquals(50_000, c.read(h, 0, buf, 0, 50_000));
        s.close(true);
        awaitNoActiveTransfer();
        Counters last = sftpTotals();
        assertEquals(after.filesOut(), last.filesOut());
        assertEquals(after.failedOut() + 1, last.failedOut());
    }

    @Test
    void aFolderInAFilesPlaceIsAFailureNamingThePath() throws Exception {
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/f.txt")) {
                out.write(1);
            }
            SftpException e = assertThrows(SftpException.class, () -> c.mkdir("/f.txt"));
            assertEquals(SftpConstants.SSH_FX_FAILURE, e.getStatus());
            assertTrue(e.getMessage().contains("/f.txt"), e.getMessage());
        }
    }

    @Test
    void readsPastTheEndAsPipeliningClientsSendEndOneDownload() throws Exception {
        byte[] body = random(100_000, 9);
        try (ClientSession s = session("bob", "other"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            try (OutputStream out = c.write("/pipelined.bin")) {
                out.write(body);
            }
            awaitNoActiveTransfer();
            Counters before = sftpTotals();
            try (SftpClient.CloseableHandle h = c.open("/pipelined.bin", SftpClient.OpenMode.Read)) {
                byte[] buf = new byte[32 * 1024];
                java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
                for (long offset = 0; offset < body.length; ) {
                    int n = c.read(h, offset, buf, 0, buf.length);
                    got.write(buf, 0, n);
                    offset += n;
                }
                // What lftp sends at the end: a read beyond the end, then one at the end.
                assertEquals(-1, c.read(h, body.length + 32 * 1024, buf, 0, buf.length));
                assertEquals(-1, c.read(h, body.length, buf, 0, buf.length));
                assertArrayEquals(body, got.toByteArray());
            }
            awaitNoActiveTransfer();
            Counters after = sftpTotals();
            assertEquals(before.filesOut() + 1, after.filesOut());
            assertEquals(before.failedOut(), after.failedOut());
            assertEquals(before.bytesOut() + body.length, after.bytesOut());
        }
    }

    @Test
    void failedPasswordsBanTheAddressAsOnFtpAndHttp() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                sftp: {port: 0, host-key: %s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                security: {login-failure-delay: 0s, max-login-failures: 3, ban-duration: 5m}
                users: [{name: carol, password: right}]
                """.formatted(data.resolve("keys/host_key"), root));
        Accounts accounts = new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory());
        try (SftpFrontEnd banning = new SftpFrontEnd(config.sftp(), config.limits(), accounts)) {
            int p = banning.start().getPort();
            for (int i = 0; i < 3; i++) {
                try (ClientSession s = client.connect("carol", "127.0.0.1", p).verify(Duration.ofSeconds(10)).getClientSession()) {
                    s.addPasswordIdentity("wrong");
                    assertThrows(IOException.class, () -> s.auth().verify(Duration.ofSeconds(10)));
                }
            }
            assertFalse(accounts.guard().banRemaining(java.net.InetAddress.getLoopbackAddress()).isZero());
            try (ClientSession s = client.connect("carol", "127.0.0.1", p).verify(Duration.ofSeconds(10)).getClientSession()) {
                s.addPasswordIdentity("right");
                assertThrows(IOException.class, () -> s.auth().verify(Duration.ofSeconds(10)), "banned, yet logged in");
            }
        }
    }

    @Test
    void aRefusedWriteIsPermissionDeniedAndAFullQuotaAFailureSayingSo() throws Exception {
        try (ClientSession s = session("reader", "r"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpException e = assertThrows(SftpException.class, () -> {
                try (OutputStream out = c.write("/nope.txt")) {
                    out.write(1);
                }
            });
            assertEquals(SftpConstants.SSH_FX_PERMISSION_DENIED, e.getStatus(), e.getMessage());
        }
        try (ClientSession s = session("dave", "d"); SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
            SftpException e = assertThrows(SftpException.class, () -> {
                try (OutputStream out = c.write("/big.bin")) {
                    out.write(new byte[5000]);
                }
            });
            assertEquals(SftpConstants.SSH_FX_FAILURE, e.getStatus());
            assertTrue(e.getMessage().contains("quota"), e.getMessage());
            assertFalse(Files.exists(root.resolve("dave/big.bin")));
        }
    }
}
