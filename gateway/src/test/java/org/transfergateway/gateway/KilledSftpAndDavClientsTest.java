package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The clients of the newer front ends killed with SIGKILL mid-upload, into S3 and onto
 * local disk: OpenSSH's {@code sftp} (its {@code put} keeps up to 64 writes in flight),
 * and {@code curl -T} over WebDAV. Each round must leave the previous file in place, no
 * multipart upload or part file behind, and exactly one more failed upload whose bytes
 * are counted.
 * Looped, since the death of the process races with the gateway's own writes.
 */
class KilledSftpAndDavClientsTest {
    private static final int ROUNDS = 20;
    private static final String BUCKET = "killed-sftp-dav";
    private static final byte[] OLD = "the previous, complete file\n".getBytes(StandardCharsets.UTF_8);

    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static S3Client s3client;
    static Gateway gateway;
    static Path key;
    static Path big;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
        RealClients.require("ssh", "-V");
        key = data.resolve("id_ed25519");
        SftpClientsTest.Result keygen = SftpClientsTest.run(data, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key.toString());
        assertEquals(0, keygen.status(), keygen.output());
        String pub = Files.readString(Path.of(key + ".pub")).trim();
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                data-dir: %s
                ftp: {enabled: false}
                http: {port: 0}
                sftp: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: archive, type: s3, bucket: %s, prefix: gw/, endpoint: %s, path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                    - {name: local, type: local, root: %s}
                users:
                  - {name: alice, password: secret, backend: archive, authorized-keys: ["%s"]}
                  - {name: bob, password: secret, backend: local, authorized-keys: ["%s"]}
                ledger: {url: %s}
                """.formatted(data.resolve("data"), BUCKET, s3.endpoint(), s3.accessKey(), s3.secretKey(),
                data.resolve("files"), pub, pub, data.resolve("ledger"))));
        big = data.resolve("big.bin");
        byte[] b = new byte[24 << 20];
        new Random(7).nextBytes(b);
        Files.write(big, b);
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void sftpKilledMidUploadIntoS3LeavesThePreviousObject() throws Exception {
        killedRounds("alice", "cut-sftp.bin", this::sftpPut, () -> CutUploads.s3Object(s3client, BUCKET, "gw/alice/cut-sftp.bin"));
    }

    @Test
    void sftpKilledMidUploadOntoLocalDiskLeavesThePreviousFile() throws Exception {
        killedRounds("bob", "cut-sftp.bin", this::sftpPut, () -> Files.readAllBytes(data.resolve("files/bob/cut-sftp.bin")));
    }

    @Test
    void curlKilledMidWebDavPutIntoS3LeavesThePreviousObject() throws Exception {
        RealClients.require("curl", "--version");
        killedRounds("alice", "cut-dav.bin", this::davPut, () -> CutUploads.s3Object(s3client, BUCKET, "gw/alice/cut-dav.bin"));
    }

    @Test
    void curlKilledMidWebDavPutOntoLocalDiskLeavesThePreviousFile() throws Exception {
        RealClients.require("curl", "--version");
        killedRounds("bob", "cut-dav.bin", this::davPut, () -> Files.readAllBytes(data.resolve("files/bob/cut-dav.bin")));
    }

    /** The command that uploads the big file as {@code name} for {@code user}, at about 20 MB/s. */
    private interface Upload {
        List<String> command(String user, String name) throws IOException;
    }

    private List<String> sftpPut(String user, String name) throws IOException {
        Path batch = data.resolve("batch-" + user + "-" + name);
        Files.writeString(batch, "put " + big + " " + name + "\n");
        return List.of("sftp", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", key.toString(),
                "-P", String.valueOf(gateway.sftpAddress().getPort()),
                "-l", "160000", // Kbit/s
                "-b", batch.toString(), user + "@127.0.0.1");
    }

    private List<String> davPut(String user, String name) {
        return List.of("curl", "-sS", "--limit-rate", "20M", "-u", user + ":secret", "-T", big.toString(),
                "http://127.0.0.1:" + gateway.httpAddress().getPort() + "/dav/" + name);
    }

    private void killedRounds(String user, String name, Upload upload, Callable<byte[]> stored) throws Exception {
        putOld(user, name);
        for (int round = 0; round < ROUNDS; round++) {
            Counters before = CutUploads.totals(gateway, user);
            Process p = new ProcessBuilder(upload.command(user, name)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // A different point of the upload each round, 3 to 7 MiB in.
            long cut = (3 + round % 5) << 20;
            long deadline = System.currentTimeMillis() + 20_000;
            while (gateway.meter().active().stream().noneMatch(t -> t.bytes() >= cut) && System.currentTimeMillis() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(gateway.meter().active().stream().anyMatch(t -> t.bytes() >= cut),
                    "round " + round + ": the upload did not get " + cut + " bytes in");
            assertTrue(p.isAlive(), "round " + round + ": the client finished before it was killed");
            p.destroyForcibly(); // SIGKILL
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            CutUploads.awaitNoActiveTransfer(gateway);
            Counters after = CutUploads.totals(gateway, user);
            assertArrayEquals(OLD, stored.call(), "round " + round + ": the previous file was replaced");
            assertEquals(before.filesIn(), after.filesIn(), "round " + round + ": counted as completed");
            assertEquals(before.failedIn() + 1, after.failedIn(), "round " + round + ": " + before + " -> " + after);
            long received = after.bytesIn() - before.bytesIn();
            assertTrue(received >= cut && received < Files.size(big), "round " + round + ": " + received + " bytes counted");
            assertEquals(0, CutUploads.openMultipartUploads(s3client, BUCKET), "round " + round + ": a multipart upload was left open");
            assertEquals(0, leftovers(user), "round " + round + ": a part file or another file was left");
        }
    }

    /** The previous, complete file, put over WebDAV. */
    private static void putOld(String user, String name) throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString((user + ":secret").getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/dav/" + name))
                .header("Authorization", auth).PUT(HttpRequest.BodyPublishers.ofByteArray(OLD)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() == 201 || r.statusCode() == 204, r.statusCode() + " " + r.body());
        CutUploads.awaitNoActiveTransfer(gateway);
    }

    /**
     * Files a cut upload may have left: besides the two files of the tests, anything in the
     * user's folder, and on local disk any part file in the backend's temporary folder.
     */
    private static long leftovers(String user) throws IOException {
        if (user.equals("bob")) {
            Path temp = data.resolve("files").resolve(LocalStorage.TEMP_FOLDER);
            long parts = 0;
            if (Files.isDirectory(temp)) {
                try (var s = Files.list(temp)) {
                    parts = s.count();
                }
            }
            try (var s = Files.list(data.resolve("files/bob"))) {
                return parts + s.filter(f -> !f.getFileName().toString().startsWith("cut-")).count();
            }
        }
        return s3client.listObjectsV2(b -> b.bucket(BUCKET).prefix("gw/alice/")).contents().stream()
                .filter(o -> !o.key().startsWith("gw/alice/cut-")).count();
    }
}
