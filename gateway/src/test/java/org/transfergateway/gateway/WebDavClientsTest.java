package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Statistics;

/**
 * The WebDAV front end of a whole gateway: its uploads count as {@code webdav} beside FTP's
 * and HTTP's, exactly; and real WebDAV clients use it: litmus (the WebDAV test suite:
 * basic, copymove, props, locks) and rclone's webdav remote (sync, check, a second sync
 * that moves nothing) and davfs2 (a mount, as root). The clients are skipped when missing, unless
 * GATEWAY_TEST_REQUIRE_CLIENTS=1 (as in CI) makes that a failure.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class WebDavClientsTest {
    @TempDir
    Path dir;
    Gateway gateway;

    @BeforeEach
    void start() throws Exception {
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 54800-54830}
                http: {port: 0}
                webdav: {enabled: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: mixed, password: pw}
                  - {name: litmus, password: pw}
                  - {name: rclone, password: pw}
                ledger: {url: %s}
                """.formatted(dir.resolve("files"), dir.resolve("ledger"))));
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private String dav(String path) {
        return "http://127.0.0.1:" + gateway.httpAddress().getPort() + "/dav" + path;
    }

    @Test
    void ftpHttpAndWebDavUploadsEachCountUnderTheirOwnProtocolToTheByte() throws Exception {
        byte[] viaFtp = random(100_003, 1);
        byte[] viaHttp = random(200_005, 2);
        byte[] viaDav = random(300_007, 3);
        FTPClient ftp = new FTPClient();
        ftp.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(ftp.login("mixed", "pw"));
        ftp.setFileType(FTP.BINARY_FILE_TYPE);
        ftp.enterLocalPassiveMode();
        assertTrue(ftp.storeFile("ftp.bin", new ByteArrayInputStream(viaFtp)));
        ftp.logout();
        ftp.disconnect();

        HttpClient http = HttpClient.newHttpClient();
        String auth = "Basic " + Base64.getEncoder().encodeToString("mixed:pw".getBytes(StandardCharsets.UTF_8));
        String base = "http://127.0.0.1:" + gateway.httpAddress().getPort();
        assertEquals(201, http.send(HttpRequest.newBuilder(URI.create(base + "/files/http.bin")).header("Authorization", auth)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(viaHttp)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(201, http.send(HttpRequest.newBuilder(URI.create(dav("/dav.bin"))).header("Authorization", auth)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(viaDav)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        HttpResponse<byte[]> back = http.send(HttpRequest.newBuilder(URI.create(dav("/dav.bin"))).header("Authorization", auth)
                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, back.statusCode());
        assertArrayEquals(viaDav, back.body());

        Statistics s = settled(3, 1);
        assertEquals(new Counters(viaFtp.length, 0, 1, 0, 0, 0), s.byProtocol().get("ftp"));
        assertEquals(new Counters(viaHttp.length, 0, 1, 0, 0, 0), s.byProtocol().get("http"));
        assertEquals(new Counters(viaDav.length, viaDav.length, 1, 1, 0, 0), s.byProtocol().get("webdav"));
        assertArrayEquals(viaDav, Files.readAllBytes(dir.resolve("files/mixed/dav.bin")));
    }

    @Test
    void litmusPassesEveryTestOfBasicCopymovePropsAndLocks() throws Exception {
        RealClients.require("litmus", "--version");
        Path home = Files.createDirectories(dir.resolve("litmus-home"));
        Result r = run(home, Map.of("TESTS", "basic copymove props locks"),
                List.of("litmus", dav("/"), "litmus", "pw"));
        for (String group : List.of("basic", "copymove", "props", "locks")) {
            assertTrue(r.output().lines().anyMatch(l -> l.matches("<- summary for `" + group
                    + "': of (\\d+) tests run: \\1 passed, 0 failed\\. 100\\.0%")), group + " all passed:\n" + r.output());
        }
        assertEquals(0, r.status(), "litmus failed:\n" + r.output());
        assertTrue(!r.output().contains("WARNING"), "litmus warned:\n" + r.output());
    }

    @Test
    void rcloneSyncsATreeUpAndASecondSyncTransfersNothing() throws Exception {
        RealClients.require("rclone", "version");
        Path home = Files.createDirectories(dir.resolve("rclone-home"));
        Path tree = Files.createDirectories(home.resolve("tree/sub/deeper"));
        Files.write(home.resolve("tree/a.bin"), random(1_000_003, 4));
        Files.write(home.resolve("tree/sub/b ü.txt"), "hello\n".getBytes(StandardCharsets.UTF_8));
        Files.write(tree.resolve("c.dat"), random(65_537, 5));
        Result obscured = run(home, Map.of(), List.of("rclone", "obscure", "pw"));
        assertEquals(0, obscured.status(), obscured.output());
        Map<String, String> remote = Map.of("RCLONE_CONFIG", home.resolve("none.conf").toString(),
                "RCLONE_CONFIG_GW_TYPE", "webdav", "RCLONE_CONFIG_GW_URL", dav("/"), "RCLONE_CONFIG_GW_VENDOR", "other",
                "RCLONE_CONFIG_GW_USER", "rclone", "RCLONE_CONFIG_GW_PASS", obscured.output().strip());
        String src = home.resolve("tree").toString();
        Result first = run(home, remote, List.of("rclone", "sync", "-v", src, "gw:up"));
        assertEquals(0, first.status(), first.output());
        assertTrue(first.output().matches("(?s).*Transferred:\\s+3 / 3, 100%.*"), first.output());
        Result check = run(home, remote, List.of("rclone", "check", "--download", src, "gw:up"));
        assertEquals(0, check.status(), check.output());
        assertTrue(check.output().contains("0 differences found"), check.output());
        Result second = run(home, remote, List.of("rclone", "sync", "-v", src, "gw:up"));
        assertEquals(0, second.status(), second.output());
        assertTrue(second.output().contains("There was nothing to transfer"), second.output());
        assertArrayEquals(Files.readAllBytes(home.resolve("tree/sub/b ü.txt")),
                Files.readAllBytes(dir.resolve("files/rclone/up/sub/b ü.txt")));
        Counters http = gateway.meter().statistics(u -> true).byProtocol().get("http");
        assertTrue(http == null || Counters.ZERO.equals(http), "nothing counted as http: " + http);
    }

    /**
     * davfs2 mounts /dav/ (as root, through /dev/fuse) and a tree is copied in and read
     * back through the mount. {@code buf_size 64}: davfs2's default 16 KiB message buffer
     * is smaller than the 32 KiB READDIR that recent kernels ask for, which davfs2 answers
     * with EINVAL, so listing a folder of the mount fails without it.
     */
    @Test
    void davfs2MountsAndATreeGoesInAndComesBackThroughTheMount() throws Exception {
        RealClients.require("mount.davfs", "-V");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/fuse")),
                "mounting needs root and /dev/fuse");
        // davfs2 runs as its own user after mounting: it must reach its cache folder.
        Path base = Files.createDirectories(dir.resolve("davfs2"));
        for (Path p = base; p.startsWith(dir.getParent()) && !p.equals(dir.getParent()); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path cache = Files.createDirectories(base.resolve("cache"));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path mount = Files.createDirectories(base.resolve("mnt"));
        Path secrets = Files.writeString(base.resolve("secrets"), mount + " mixed pw\n");
        Files.setPosixFilePermissions(secrets, PosixFilePermissions.fromString("rw-------"));
        Path conf = Files.writeString(base.resolve("davfs2.conf"),
                "secrets " + secrets + "\ncache_dir " + cache + "\nbuf_size 64\nuse_locks 1\n");
        Path tree = Files.createDirectories(base.resolve("tree/sub"));
        Files.write(tree.resolve("a.bin"), random(700_001, 8));
        Files.write(base.resolve("tree/b ü.txt"), "hello\n".getBytes(StandardCharsets.UTF_8));
        Result mounted = run(base, Map.of(), List.of("mount", "-t", "davfs", dav("/"), mount.toString(), "-o", "conf=" + conf));
        assertEquals(0, mounted.status(), "mount failed:\n" + mounted.output());
        try {
            Result in = run(base, Map.of(), List.of("cp", "-r", base.resolve("tree").toString(), mount.resolve("tree").toString()));
            assertEquals(0, in.status(), in.output());
            Result back = run(base, Map.of(), List.of("cp", "-r", mount.resolve("tree").toString(), base.resolve("back").toString()));
            assertEquals(0, back.status(), back.output());
        } finally {
            Result unmounted = run(base, Map.of(), List.of("umount", mount.toString()));
            assertEquals(0, unmounted.status(), "umount failed:\n" + unmounted.output());
        }
        Result diff = run(base, Map.of(), List.of("diff", "-r", base.resolve("tree").toString(), base.resolve("back").toString()));
        assertEquals(0, diff.status(), "what came back through the mount differs:\n" + diff.output());
        // Unmounting wrote everything back: the gateway holds the tree.
        assertArrayEquals(Files.readAllBytes(tree.resolve("a.bin")), Files.readAllBytes(dir.resolve("files/mixed/tree/sub/a.bin")));
    }

    /** The statistics once {@code in} uploads and {@code out} downloads have ended. */
    private Statistics settled(long in, long out) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        Statistics s = gateway.meter().statistics(u -> true);
        while ((s.transferred().filesIn() != in || s.transferred().filesOut() != out) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            s = gateway.meter().statistics(u -> true);
        }
        return s;
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private record Result(int status, String output) {
    }

    private static Result run(Path home, Map<String, String> env, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                out.append(e);
            }
        });
        reader.start();
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command.get(0) + " did not finish:\n" + out);
        }
        reader.join();
        return new Result(p.exitValue(), out.toString());
    }
}
