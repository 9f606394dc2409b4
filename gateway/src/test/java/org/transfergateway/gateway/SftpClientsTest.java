package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * OpenSSH's own sftp client, in batch mode with an ed25519 key made by ssh-keygen, against
 * the whole gateway: put (with -p), reput, get, ls, mkdir, rename, rm, and the statistics
 * of /api/stats exact to the byte. Also that ssh cannot run a command.
 */
class SftpClientsTest {
    @TempDir
    static Path dir;
    static Gateway gateway;
    static Path key;

    @BeforeAll
    static void start() throws Exception {
        RealClients.require("ssh", "-V");
        key = dir.resolve("id_ed25519");
        run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@test", "-f", key.toString());
        String pub = Files.readString(Path.of(key + ".pub")).trim();
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                data-dir: %s
                ftp: {enabled: false}
                http: {port: 0}
                sftp: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret, authorized-keys: ["%s"]}
                ledger: {url: %s}
                """.formatted(dir.resolve("data"), dir.resolve("files"), pub, dir.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    record Result(int status, String output) {
    }

    static Result run(Path cwd, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static List<String> sshOptions(String program) {
        List<String> cmd = new ArrayList<>(List.of(program, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", key.toString()));
        cmd.addAll(program.equals("ssh") ? List.of("-p", String.valueOf(gateway.sftpAddress().getPort()))
                : List.of("-P", String.valueOf(gateway.sftpAddress().getPort())));
        return cmd;
    }

    static Result sftp(Path cwd, String batch) throws Exception {
        Path file = cwd.resolve("batch-" + System.nanoTime());
        Files.writeString(file, batch);
        List<String> cmd = sshOptions("sftp");
        cmd.addAll(List.of("-b", file.toString(), "alice@127.0.0.1"));
        return run(cwd, cmd.toArray(String[]::new));
    }

    static JsonNode sftpStats() throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/api/stats"))
                .header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString()).body();
        return new ObjectMapper().readTree(body).path("transferred").path("byProtocol").path("sftp");
    }

    @Test
    void openSshSftpPutsGetsListsAndIsCountedExactly() throws Exception {
        Path local = Files.createDirectories(dir.resolve("local"));
        byte[] big = new byte[3 * 1024 * 1024 + 123];
        new Random(11).nextBytes(big);
        Files.write(local.resolve("big.bin"), big);
        Files.writeString(local.resolve("small.txt"), "hello over sftp\n");
        Instant then = Instant.parse("2023-03-04T05:06:07Z");
        Files.setLastModifiedTime(local.resolve("small.txt"), java.nio.file.attribute.FileTime.from(then));
        byte[] whole = new byte[300_000];
        new Random(12).nextBytes(whole);
        Files.write(local.resolve("part.bin"), Arrays.copyOf(whole, 100_000));
        Files.write(local.resolve("whole.bin"), whole);

        Result r = sftp(local, """
                put big.bin
                put -p small.txt
                put part.bin whole.bin
                reput whole.bin whole.bin
                mkdir docs
                rename big.bin docs/big.bin
                ls -l docs
                get docs/big.bin back.bin
                rm small.txt
                """);
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains(String.valueOf(big.length)), "ls -l shows the size: " + r.output());

        Path files = dir.resolve("files/alice");
        assertArrayEquals(big, Files.readAllBytes(local.resolve("back.bin")));
        assertArrayEquals(big, Files.readAllBytes(files.resolve("docs/big.bin")));
        assertArrayEquals(whole, Files.readAllBytes(files.resolve("whole.bin")));
        assertFalse(Files.exists(files.resolve("big.bin")));
        assertFalse(Files.exists(files.resolve("small.txt")));

        JsonNode s = sftpStats();
        assertEquals(big.length + 16 + 100_000 + 200_000, s.path("bytesIn").asLong(), s.toString());
        assertEquals(4, s.path("filesIn").asLong(), s.toString());
        assertEquals(big.length, s.path("bytesOut").asLong(), s.toString());
        assertEquals(1, s.path("filesOut").asLong(), s.toString());
        assertEquals(0, s.path("failedIn").asLong(), s.toString());
        assertEquals(0, s.path("failedOut").asLong(), s.toString());
    }

    @Test
    void putPreservesTheModificationTime() throws Exception {
        Path local = Files.createDirectories(dir.resolve("local-times"));
        Files.writeString(local.resolve("dated.txt"), "x");
        Instant then = Instant.parse("2022-02-03T04:05:06Z");
        Files.setLastModifiedTime(local.resolve("dated.txt"), java.nio.file.attribute.FileTime.from(then));
        Result r = sftp(local, "put -p dated.txt\n");
        assertEquals(0, r.status(), r.output());
        assertEquals(then, Files.getLastModifiedTime(dir.resolve("files/alice/dated.txt")).toInstant());
    }

    @Test
    void renameReplacesAnExistingFileAndRegetResumesADownload() throws Exception {
        Path local = Files.createDirectories(dir.resolve("local-resume"));
        byte[] body = new byte[500_000];
        new Random(13).nextBytes(body);
        Files.write(local.resolve("r.bin"), body);
        Files.writeString(local.resolve("old.txt"), "old");
        Result r = sftp(local, """
                put old.txt target.bin
                put r.bin r.bin
                rename r.bin target.bin
                """);
        assertEquals(0, r.status(), r.output());
        assertArrayEquals(body, Files.readAllBytes(dir.resolve("files/alice/target.bin")));

        Files.write(local.resolve("half.bin"), Arrays.copyOf(body, 200_000));
        long outBefore = sftpStats().path("bytesOut").asLong();
        r = sftp(local, "reget target.bin half.bin\n");
        assertEquals(0, r.status(), r.output());
        assertArrayEquals(body, Files.readAllBytes(local.resolve("half.bin")));
        assertEquals(outBefore + 300_000, sftpStats().path("bytesOut").asLong(), "only the rest is sent");
    }

    @Test
    void sshCannotRunACommand() throws Exception {
        List<String> cmd = sshOptions("ssh");
        cmd.addAll(List.of("alice@127.0.0.1", "id"));
        Result r = run(dir, cmd.toArray(String[]::new));
        assertNotEquals(0, r.status(), r.output());
        assertFalse(r.output().contains("uid="), r.output());
    }
}
