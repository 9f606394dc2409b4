package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Real FTP client processes that die mid-upload, into S3 and onto local disk: curl killed
 * with SIGKILL, and a Python ftplib client that exits without a word. Each leaves the
 * previous file in place, no multipart upload open, and one failed transfer. Looped,
 * since a process's death closes its two connections in a race with the gateway.
 */
class KilledFtpClientTest {
    private static final int ROUNDS = 20;
    private static final String BUCKET = "killed-clients";
    private static final byte[] OLD = "the previous, complete file\n".getBytes();

    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static S3Client s3client;
    static Gateway gateway;
    static int ftpPort;
    static Path big;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 52300-52400}
                http: {enabled: false}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: archive, type: s3, bucket: %s, prefix: gw/, endpoint: %s, path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                    - {name: local, type: local, root: %s}
                users:
                  - {name: alice, password: secret, backend: archive}
                  - {name: bob, password: secret, backend: local}
                ledger: {url: %s}
                """.formatted(BUCKET, s3.endpoint(), s3.accessKey(), s3.secretKey(), data.resolve("files"), data.resolve("ledger")));
        gateway = Gateway.start(config);
        ftpPort = gateway.ftpAddress().getPort();
        big = data.resolve("big.bin");
        byte[] b = new byte[24 << 20];
        new Random(5).nextBytes(b);
        Files.write(big, b);
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static void putOld(String user, String name) throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", ftpPort);
        assertTrue(c.login(user, "secret"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        assertTrue(c.storeFile(name, new ByteArrayInputStream(OLD)), c.getReplyString());
        c.disconnect();
        CutUploads.awaitNoActiveTransfer(gateway);
    }

    /** Runs the client until it has sent some of the file, then kills it. */
    private static void killMidway(List<String> command, int round) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        // A different point of the upload each round: 5 to 9 MiB in, a quarter of a second or
        // more at curl's rate, so that the gateway waits its longest for the control connection.
        long cut = (5 + round % 5) << 20;
        long deadline = System.currentTimeMillis() + 10_000;
        while (gateway.meter().active().stream().noneMatch(t -> t.bytes() >= cut) && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(gateway.meter().active().stream().anyMatch(t -> t.bytes() >= cut), "round " + round + ": the upload did not get " + cut + " bytes in");
        assertTrue(p.isAlive(), "the client finished before it was killed");
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    }

    private void assertCutOff(String user, Counters before, int round, byte[] now) throws Exception {
        CutUploads.awaitNoActiveTransfer(gateway);
        Counters after = CutUploads.totals(gateway, user);
        assertArrayEquals(OLD, now, "round " + round + ": the previous file was replaced");
        assertEquals(before.filesIn(), after.filesIn(), "round " + round + ": counted as completed");
        assertEquals(before.failedIn() + 1, after.failedIn(), "round " + round + ": " + before + " -> " + after);
        long received = after.bytesIn() - before.bytesIn();
        assertTrue(received > 0 && received < Files.size(big), "round " + round + ": " + received + " bytes counted");
    }

    @Test
    void curlKilledMidUploadIntoS3LeavesThePreviousObject() throws Exception {
        curlKilledRounds("alice", () -> CutUploads.s3Object(s3client, BUCKET, "gw/alice/cut-ftp.bin"));
    }

    @Test
    void curlKilledMidUploadOntoLocalDiskLeavesThePreviousFile() throws Exception {
        curlKilledRounds("bob", () -> Files.readAllBytes(data.resolve("files/bob/cut-ftp.bin")));
    }

    /** Rounds of curl killed mid-upload of {@code cut-ftp.bin} by {@code user}; {@code stored} reads what the backend holds. */
    private void curlKilledRounds(String user, Callable<byte[]> stored) throws Exception {
        RealClients.require("curl", "--version");
        putOld(user, "cut-ftp.bin");
        for (int round = 0; round < ROUNDS; round++) {
            Counters before = CutUploads.totals(gateway, user);
            killMidway(List.of("curl", "-sS", "--limit-rate", "20M", "-T", big.toString(),
                    "ftp://" + user + ":secret@127.0.0.1:" + ftpPort + "/cut-ftp.bin"), round);
            assertCutOff(user, before, round, stored.call());
            assertEquals(0, CutUploads.openMultipartUploads(s3client, BUCKET), "round " + round + ": a multipart upload was left open");
        }
    }

    @Test
    void pythonClientExitingMidUploadIntoS3LeavesThePreviousObject() throws Exception {
        RealClients.require("python3", "--version");
        putOld("alice", "cut-py.bin");
        // Sends a few MiB at about 12 MiB/s, then exits without closing anything: the kernel
        // closes both connections.
        String script = """
                import ftplib, os, sys, time
                f = ftplib.FTP()
                f.connect('127.0.0.1', %d)
                f.login('alice', 'secret')
                f.voidcmd('TYPE I')
                conn = f.transfercmd('STOR cut-py.bin')
                left = int(sys.argv[2])
                with open(sys.argv[1], 'rb') as src:
                    while left > 0:
                        piece = src.read(min(left, 65536))
                        conn.sendall(piece)
                        left -= len(piece)
                        time.sleep(0.005)
                os._exit(0)
                """.formatted(ftpPort);
        Path py = data.resolve("exit-midway.py");
        Files.writeString(py, script);
        for (int round = 0; round < ROUNDS; round++) {
            Counters before = CutUploads.totals(gateway, "alice");
            int send = (7 << 19) + round * 150_001; // 3.5 MiB and more: over a quarter of a second at this rate
            Process p = new ProcessBuilder("python3", py.toString(), big.toString(), Integer.toString(send))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            CutUploads.awaitNoActiveTransfer(gateway);
            assertArrayEquals(OLD, CutUploads.s3Object(s3client, BUCKET, "gw/alice/cut-py.bin"), "round " + round + ": the previous object was replaced");
            Counters after = CutUploads.totals(gateway, "alice");
            assertEquals(before.filesIn(), after.filesIn(), "round " + round + ": counted as completed");
            assertEquals(before.failedIn() + 1, after.failedIn(), "round " + round);
            assertEquals(before.bytesIn() + send, after.bytesIn(), "round " + round + ": every byte sent is counted");
            assertEquals(0, CutUploads.openMultipartUploads(s3client, BUCKET), "round " + round + ": a multipart upload was left open");
        }
    }
}
