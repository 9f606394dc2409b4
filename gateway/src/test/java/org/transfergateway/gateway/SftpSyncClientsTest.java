package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * The sync clients people use against the gateway's SFTP: rclone's sftp remote (sync up,
 * check, a second sync that moves nothing, copy back down) and lftp over sftp:// (mirror -R,
 * then mirror back), both with key logins, each tree compared byte for byte and each user's
 * sftp row of /api/stats exact. A user per client keeps the two rows apart.
 */
class SftpSyncClientsTest {
    @TempDir
    static Path dir;
    static Gateway gateway;
    static Path key;
    /** The tree both clients upload: files of some KiB in nested folders and one of a few MiB. */
    static Path tree;
    static long treeBytes;
    static final int TREE_FILES = 5;

    @BeforeAll
    static void start() throws Exception {
        RealClients.require("ssh", "-V");
        key = dir.resolve("id_ed25519");
        run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sync@test", "-f", key.toString());
        String pub = Files.readString(Path.of(key + ".pub")).trim();
        tree = Files.createDirectories(dir.resolve("tree"));
        Random random = new Random(21);
        Map<String, Integer> sizes = Map.of("a.txt", 3 * 1024 + 5, "sub/b.bin", 10 * 1024, "sub/deep/c.bin", 5 * 1024 + 1,
                "sub/d e.txt", 64 * 1024, "big.bin", 3 * 1024 * 1024 + 7);
        for (Map.Entry<String, Integer> f : sizes.entrySet()) {
            byte[] body = new byte[f.getValue()];
            random.nextBytes(body);
            Path p = tree.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, body);
            treeBytes += body.length;
        }
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                data-dir: %s
                ftp: {enabled: false}
                http: {port: 0}
                sftp: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: rc, password: rc-pw, authorized-keys: ["%s"]}
                  - {name: lf, password: lf-pw, authorized-keys: ["%s"]}
                ledger: {url: %s}
                """.formatted(dir.resolve("data"), dir.resolve("files"), pub, pub, dir.resolve("ledger"))));
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
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** The user's sftp row of /api/stats. */
    static JsonNode sftpStats(String user, String password) throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/api/stats"))
                .header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString()).body();
        return new ObjectMapper().readTree(body).path("transferred").path("byProtocol").path("sftp");
    }

    static String counters(long bytesIn, long bytesOut, long filesIn, long filesOut) {
        return "{\"bytesIn\":%d,\"bytesOut\":%d,\"filesIn\":%d,\"filesOut\":%d,\"failedIn\":0,\"failedOut\":0}"
                .formatted(bytesIn, bytesOut, filesIn, filesOut);
    }

    /** Every file under {@code root} by its relative path, with its bytes. */
    static Map<String, byte[]> files(Path root) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                out.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    static void assertSameTree(Path expected, Path actual) throws IOException {
        Map<String, byte[]> a = files(expected);
        Map<String, byte[]> b = files(actual);
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name), b.get(name), name);
        }
    }

    /** rclone with an on-the-fly sftp remote; no shell commands (the gateway runs none), so no remote hashes. */
    static Result rclone(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("rclone"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--config", dir.resolve("rclone.conf").toString(),
                "--sftp-host", "127.0.0.1", "--sftp-port", String.valueOf(gateway.sftpAddress().getPort()),
                "--sftp-user", "rc", "--sftp-key-file", key.toString(), "--sftp-shell-type", "none",
                "--sftp-disable-hashcheck", "--use-json-log", "-v", "--retries", "1"));
        return run(dir, cmd.toArray(String[]::new));
    }

    /** rclone's closing statistics (the last JSON log line that has them). */
    static JsonNode rcloneStats(Result r) throws IOException {
        JsonNode last = null;
        for (String line : r.output().split("\n")) {
            if (line.startsWith("{") && line.contains("\"stats\"")) {
                last = new ObjectMapper().readTree(line).path("stats");
            }
        }
        assertTrue(last != null, "no statistics in rclone's output: " + r.output());
        return last;
    }

    @Test
    void rcloneSyncsChecksSyncsNothingTheSecondTimeAndCopiesBack() throws Exception {
        RealClients.require("rclone", "version");
        Result sync = rclone("sync", tree.toString(), ":sftp:backup");
        assertEquals(0, sync.status(), sync.output());
        JsonNode first = rcloneStats(sync);
        assertEquals(TREE_FILES, first.path("transfers").asInt(), first.toString());
        assertEquals(treeBytes, first.path("bytes").asLong(), first.toString());
        assertSameTree(tree, dir.resolve("files/rc/backup"));
        assertEquals(counters(treeBytes, 0, TREE_FILES, 0), sftpStats("rc", "rc-pw").toString());

        // Sizes and modification times match: nothing differs, nothing is sent again.
        Result check = rclone("check", tree.toString(), ":sftp:backup");
        assertEquals(0, check.status(), check.output());
        assertTrue(check.output().contains("0 differences found"), check.output());
        Result again = rclone("sync", tree.toString(), ":sftp:backup");
        assertEquals(0, again.status(), again.output());
        JsonNode second = rcloneStats(again);
        assertEquals(0, second.path("transfers").asInt(), second.toString());
        assertEquals(0, second.path("bytes").asLong(), second.toString());
        assertEquals(TREE_FILES, second.path("checks").asInt(), second.toString());
        assertEquals(counters(treeBytes, 0, TREE_FILES, 0), sftpStats("rc", "rc-pw").toString());

        // check --download compares the bytes themselves: each file is read once.
        Result byBytes = rclone("check", "--download", tree.toString(), ":sftp:backup");
        assertEquals(0, byBytes.status(), byBytes.output());
        assertTrue(byBytes.output().contains("0 differences found"), byBytes.output());
        assertEquals(counters(treeBytes, treeBytes, TREE_FILES, TREE_FILES), sftpStats("rc", "rc-pw").toString());

        Path back = dir.resolve("rclone-back");
        Result copy = rclone("copy", ":sftp:backup", back.toString());
        assertEquals(0, copy.status(), copy.output());
        assertEquals(TREE_FILES, rcloneStats(copy).path("transfers").asInt());
        assertSameTree(tree, back);
        assertEquals(counters(treeBytes, 2 * treeBytes, TREE_FILES, 2 * TREE_FILES), sftpStats("rc", "rc-pw").toString());
    }

    @Test
    void lftpMirrorsATreeUpAndBackDown() throws Exception {
        RealClients.require("lftp", "--version");
        String connect = "ssh -a -x -i " + key + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                + " -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR";
        Path back = dir.resolve("lftp-back");
        Result r = run(dir, "lftp", "-c", "set sftp:connect-program '" + connect + "'; set net:max-retries 1;"
                + " open -u lf, sftp://127.0.0.1:" + gateway.sftpAddress().getPort() + ";"
                + " mirror -R " + tree + " mirrored; mirror mirrored " + back);
        assertEquals(0, r.status(), r.output());
        assertSameTree(tree, dir.resolve("files/lf/mirrored"));
        assertSameTree(tree, back);
        assertEquals(counters(treeBytes, treeBytes, TREE_FILES, TREE_FILES), sftpStats("lf", "lf-pw").toString());
    }
}
