package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * {@code reconcile} of a pool and of a folder rule on a real gateway: a pool keeping two
 * copies of each object over three local backends, and a user whose {@code /archive} lives
 * on another backend. A copy removed and a copy added behind the gateway's back show up as
 * one missing and one extra copy, and {@code --fix} repairs both.
 */
class PoolReconcileTest {
    static final List<String> MEMBERS = List.of("m1", "m2", "m3");

    @TempDir
    Path dir;

    private String yaml(String ledgerUrl) {
        return """
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: m1, type: local, root: %s}
                    - {name: m2, type: local, root: %s}
                    - {name: m3, type: local, root: %s}
                    - {name: cold, type: local, root: %s}
                  pools:
                    - {name: spread, backends: [m1, m2, m3], replicas: 2}
                users:
                  - name: alice
                    password: a-pw
                    backend: spread
                    folders:
                      - {path: /archive, backend: cold}
                  - {name: bob, password: b-pw, backend: cold}
                ledger: {url: "%s"}
                """.formatted(dir.resolve("m1"), dir.resolve("m2"), dir.resolve("m3"), dir.resolve("cold"), ledgerUrl);
    }

    private static String auth(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String url(Gateway g, String path) {
        return "http://127.0.0.1:" + g.httpAddress().getPort() + "/files" + path;
    }

    private static void put(Gateway g, String user, String password, String path, int size) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url(g, path))).header("Authorization", auth(user, password))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build();
        assertEquals(201, HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.discarding()).statusCode(), path);
    }

    private static HttpResponse<byte[]> get(Gateway g, String user, String password, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url(g, path))).header("Authorization", auth(user, password)).build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofByteArray());
    }

    private Path write(String ledgerUrl) throws Exception {
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, yaml(ledgerUrl));
        return config;
    }

    /** Uploads alice's three pool objects and two archived ones, and one of bob's. */
    private void upload(String ledgerUrl) throws Exception {
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml(ledgerUrl)))) {
            put(g, "alice", "a-pw", "/a.bin", 1000);
            put(g, "alice", "a-pw", "/docs/b.bin", 2000);
            put(g, "alice", "a-pw", "/c.bin", 3000);
            put(g, "alice", "a-pw", "/archive/old.bin", 4000);
            put(g, "alice", "a-pw", "/archive/y/z.bin", 500);
            put(g, "bob", "b-pw", "/d.bin", 700);
        }
    }

    /** The members holding a copy of {@code key}, on disk. */
    private List<String> holders(String key) {
        return MEMBERS.stream().filter(m -> Files.isRegularFile(dir.resolve(m).resolve(key))).toList();
    }

    private static boolean row(CommandLineTest.Result r, String regex) {
        return r.out().lines().anyMatch(l -> l.matches(regex));
    }

    private static List<String> lines(CommandLineTest.Result r, String start) {
        return r.out().lines().filter(l -> l.startsWith(start)).toList();
    }

    @Test
    void aMissingAndAnExtraCopyAreReportedAndFixedAndFolderRulesCountOnTheirBackend() throws Exception {
        String ledgerUrl = dir.resolve("ledger").toString();
        Path config = write(ledgerUrl);
        upload(ledgerUrl);

        // Two copies of each pool object on different members; the archive on cold.
        for (String key : List.of("alice/a.bin", "alice/docs/b.bin", "alice/c.bin")) {
            assertEquals(2, holders(key).size(), key);
        }
        assertEquals(4000, Files.size(dir.resolve("cold/alice/archive/old.bin")));
        assertEquals(500, Files.size(dir.resolve("cold/alice/archive/y/z.bin")));
        assertEquals(700, Files.size(dir.resolve("cold/bob/d.bin")));

        CommandLineTest.Result clean = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, clean.status(), clean.out() + clean.err());
        assertTrue(row(clean, "cold\\s+alice\\s+4500\\s+4500\\s+0\\s+2\\s+2\\s+0"), clean.out());
        assertTrue(row(clean, "cold\\s+bob\\s+700\\s+700\\s+0\\s+1\\s+1\\s+0"), clean.out());
        assertTrue(row(clean, "spread\\s+alice\\s+6000\\s+6000\\s+0\\s+3\\s+3\\s+0"), clean.out());
        assertTrue(clean.out().lines().noneMatch(l -> l.matches("m[123]\\s.*")), clean.out()); // no rows of the members: no user's own backend
        assertTrue(lines(clean, "missing copy").isEmpty() && lines(clean, "extra copy").isEmpty(), clean.out());
        assertTrue(clean.out().contains("no drift"), clean.out());

        // Behind the gateway's back: a copy of a.bin removed, a file added on another member
        // in alice's home, an archived file removed from cold.
        String gone = holders("alice/a.bin").get(0);
        String kept = holders("alice/a.bin").get(1);
        Files.delete(dir.resolve(gone).resolve("alice/a.bin"));
        String other = MEMBERS.stream().filter(m -> !m.equals(gone)).findFirst().orElseThrow();
        Path stray = dir.resolve(other).resolve("alice/stray.bin");
        Files.write(stray, new byte[10]);
        Files.delete(dir.resolve("cold/alice/archive/y/z.bin"));
        // Not the pool's: alice's /archive goes to cold, and no one's home holds nobody/.
        Path ruled = dir.resolve(gone).resolve("alice/archive/elsewhere.bin");
        Files.createDirectories(ruled.getParent());
        Files.write(ruled, new byte[20]);
        Path outside = dir.resolve(gone).resolve("nobody/x.bin");
        Files.createDirectories(outside.getParent());
        Files.write(outside, new byte[30]);

        CommandLineTest.Result drift = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(1, drift.status(), drift.out() + drift.err());
        assertEquals(List.of("missing copy: pool=spread backend=" + gone + " key=alice/a.bin size=1000"),
                lines(drift, "missing copy"), drift.out());
        assertEquals(List.of("extra copy: pool=spread backend=" + other + " key=alice/stray.bin size=10"),
                lines(drift, "extra copy"), drift.out());
        assertTrue(row(drift, "cold\\s+alice\\s+4500\\s+4000\\s+-500\\s+2\\s+1\\s+-1"), drift.out());
        assertTrue(row(drift, "cold\\s+bob\\s+700\\s+700\\s+0\\s+1\\s+1\\s+0"), drift.out());
        // The pool's logical totals are its placements': the ledger still names a copy of a.bin.
        assertTrue(row(drift, "spread\\s+alice\\s+6000\\s+6000\\s+0\\s+3\\s+3\\s+0"), drift.out());
        assertTrue(drift.out().contains("1 of 3 drift, 1 missing copy, 1 extra copy"), drift.out());

        CommandLineTest.Result fixed = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
        assertEquals(1, fixed.status(), fixed.out() + fixed.err());
        assertTrue(fixed.out().contains("removed extra copy: pool=spread backend=" + other + " key=alice/stray.bin"), fixed.out());
        assertTrue(fixed.out().contains("forgot missing copy: pool=spread backend=" + gone + " key=alice/a.bin"
                + "; queued a new copy from " + kept), fixed.out());
        assertTrue(fixed.out().contains("fixed"), fixed.out());
        assertFalse(Files.exists(stray));
        assertTrue(Files.exists(ruled) && Files.exists(outside), "what is not the pool's stays");

        CommandLineTest.Result after = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, after.status(), after.out() + after.err());
        assertTrue(after.out().contains("no drift"), after.out());
        assertTrue(row(after, "cold\\s+alice\\s+4000\\s+4000\\s+0\\s+1\\s+1\\s+0"), after.out());

        // The gateway reads a.bin from the copy left, makes the queued copy again, and starts
        // from the adopted figures.
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml(ledgerUrl)))) {
            HttpResponse<byte[]> a = get(g, "alice", "a-pw", "/a.bin");
            assertEquals(200, a.statusCode());
            assertArrayEquals(new byte[1000], a.body());
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (holders("alice/a.bin").size() < 2) {
                assertTrue(System.nanoTime() < deadline, "the copy of a.bin on " + gone + " was not made again");
                Thread.sleep(20);
            }
            assertEquals(java.util.stream.Stream.of(kept, gone).sorted().toList(), holders("alice/a.bin"));
            assertArrayEquals(new byte[1000], Files.readAllBytes(dir.resolve(gone).resolve("alice/a.bin")));
            var stats = g.meter().statistics(u -> true);
            assertEquals(10_000, stats.storedByUser().get("alice").bytes());
            assertEquals(4, stats.storedByUser().get("alice").objects());
        }
    }

    @Test
    void anObjectWithoutAnyCopyLeftLeavesThePoolAndACopyOfAnotherSizeIsRemoved() throws Exception {
        String ledgerUrl = dir.resolve("ledger").toString();
        Path config = write(ledgerUrl);
        upload(ledgerUrl);
        // Every copy of c.bin gone; one copy of b.bin changed to another size.
        for (String m : holders("alice/c.bin")) {
            Files.delete(dir.resolve(m).resolve("alice/c.bin"));
        }
        String changed = holders("alice/docs/b.bin").get(0);
        Files.write(dir.resolve(changed).resolve("alice/docs/b.bin"), new byte[7]);

        CommandLineTest.Result drift = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(1, drift.status(), drift.out() + drift.err());
        assertEquals(List.of("missing copy: pool=spread backend=" + changed + " key=alice/docs/b.bin size=2000 (holds 7 bytes)"),
                lines(drift, "missing copy: pool=spread backend=" + changed + " key=alice/docs/b.bin"), drift.out());
        assertEquals(2, lines(drift, "missing copy: pool=spread").stream().filter(l -> l.contains("key=alice/c.bin ")).count(),
                drift.out());
        assertTrue(lines(drift, "extra copy").isEmpty(), drift.out());
        assertTrue(drift.out().contains("3 missing copies"), drift.out());

        CommandLineTest.Result fixed = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
        assertEquals(1, fixed.status(), fixed.out() + fixed.err());
        assertTrue(fixed.out().contains("forgot missing copy: pool=spread backend=" + changed
                + " key=alice/docs/b.bin; removed the backend's 7 bytes there"), fixed.out());
        assertFalse(Files.exists(dir.resolve(changed).resolve("alice/docs/b.bin")));

        // c.bin has left the pool, and its totals: a.bin and b.bin remain.
        CommandLineTest.Result after = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, after.status(), after.out() + after.err());
        assertTrue(row(after, "spread\\s+alice\\s+3000\\s+3000\\s+0\\s+2\\s+2\\s+0"), after.out());
    }

    @Test
    void onASharedLedgerAFreshExtraCopyIsLeftForTheUploadThatMayBeRecordingIt() throws Exception {
        // Without exclusive locking, gateways may share the ledger with reconcile.
        String ledgerUrl = "jdbc:sqlite:" + dir.resolve("shared.db");
        Path config = write(ledgerUrl);
        upload(ledgerUrl);
        Path stray = dir.resolve("m1/alice/fresh.bin");
        Files.write(stray, new byte[5]);

        CommandLineTest.Result fresh = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
        assertEquals(1, fresh.status(), fresh.out() + fresh.err());
        assertTrue(fresh.out().contains("left extra copy: pool=spread backend=m1 key=alice/fresh.bin (changed less than"),
                fresh.out());
        assertTrue(Files.exists(stray));

        Files.setLastModifiedTime(stray, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        CommandLineTest.Result old = CommandLineTest.run("", "reconcile", "--config", config.toString(), "--fix");
        assertEquals(1, old.status(), old.out() + old.err());
        assertTrue(old.out().contains("removed extra copy: pool=spread backend=m1 key=alice/fresh.bin"), old.out());
        assertFalse(Files.exists(stray));

        CommandLineTest.Result after = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, after.status(), after.out() + after.err());
    }
}
