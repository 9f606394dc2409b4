package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.commons.net.ftp.FTPReply;
import org.apache.hc.client5.http.classic.methods.HttpDelete;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpHead;
import org.apache.hc.client5.http.classic.methods.HttpPut;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The whole gateway over a pool of three S3 servers (three S3Proxy instances, so that one
 * can be stopped) keeping two copies of each object, plus a local backend for a folder
 * rule. FTP and HTTP clients upload, download, list, rename, overwrite and delete; a plain
 * S3 client checks every bucket for exactly the copies the pool promises; /api/stats is
 * checked against what the buckets and the local disk really hold. The last test stops one
 * server in the middle of a run of transfers and starts it again; /api/backends tells when
 * the prober has found it back.
 *
 * <p>The tests share the gateway and run in order: the outage comes last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PoolOverS3Test {
    static final List<String> MEMBERS = List.of("s3-a", "s3-b", "s3-c");
    static final String POOL = "spread";
    static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    static Path data;
    /** Member backend -> its own S3 server, bucket and checking client. */
    static final Map<String, S3ProxyFixture> servers = new LinkedHashMap<>();
    static final Map<String, String> buckets = new LinkedHashMap<>();
    static Gateway gateway;
    static int ftpPort;
    static URI http;
    static final ObjectMapper json = new ObjectMapper();
    /** The gateway's config, with {@link #env} for its credentials. */
    static String yaml;
    static Map<String, String> env;

    CloseableHttpClient httpClient;
    FTPClient ftp;

    @BeforeAll
    static void start() throws Exception {
        for (String m : MEMBERS) {
            S3ProxyFixture s3 = S3ProxyFixture.start(S3ProxyFixture.Provider.FILESYSTEM);
            servers.put(m, s3);
            String bucket = "pool-" + m;
            s3.createBucket(bucket);
            buckets.put(m, bucket);
        }
        StringBuilder backends = new StringBuilder();
        for (String m : MEMBERS) {
            backends.append("""
                        - name: %s
                          type: s3
                          bucket: %s
                          endpoint: %s
                          path-style: true
                          access-key: ${S3_ACCESS_KEY}
                          secret-key: ${S3_SECRET_KEY}
                          checksums: when-required
                    """.formatted(m, buckets.get(m), servers.get(m).endpoint()));
        }
        S3ProxyFixture any = servers.get(MEMBERS.get(0));
        yaml = """
                ftp:
                  port: 0
                  passive-ports: 54800-54850
                http:
                  port: 0
                storage:
                  part-size: 5MiB
                  backends:
                    - name: local
                      type: local
                      root: %s
                %s
                  pools:
                    - name: spread
                      backends: [s3-a, s3-b, s3-c]
                      policy: round-robin
                      replicas: 2
                      replication: sync
                      unhealthy-after: 2
                      probe-interval: 1s
                users:
                  - {name: alice, password: secret, backend: spread}
                  - name: bob
                    password: builder
                    backend: spread
                    folders:
                      - {path: /archive, backend: local}
                  - {name: root, password: toor, admin: true, backend: local}
                ledger:
                  url: %s
                """.formatted(data.resolve("files"), backends.toString().stripTrailing(), data.resolve("ledger"));
        env = Map.of("S3_ACCESS_KEY", any.accessKey(), "S3_SECRET_KEY", any.secretKey());
        GatewayConfig config = new ConfigLoader(env).parse(yaml);
        gateway = Gateway.start(config);
        ftpPort = gateway.ftpAddress().getPort();
        http = URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        servers.values().forEach(S3ProxyFixture::close);
        servers.clear();
    }

    @BeforeEach
    void clients() throws IOException {
        // No automatic retry (HttpClient retries a 503 by default): every error must show.
        httpClient = HttpClients.custom().disableAutomaticRetries().build();
        ftp = login("alice", "secret");
    }

    @AfterEach
    void closeClients() throws IOException {
        httpClient.close();
        if (ftp.isConnected()) {
            ftp.disconnect();
        }
    }

    // ---- tests

    @Test
    @Order(1)
    void uploadsOverFtpAndHttpLandOnExactlyTwoMembersAndCountEachCopyOnce() throws Exception {
        JsonNode before = settledStats();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("/up/ftp-1.bin", random(70_001, 1));
        files.put("/up/http-1.bin", random(123_457, 2));
        files.put("/up/ftp-empty.bin", new byte[0]);
        files.put("/up/http-chunked.bin", random(33_333, 3));
        // Over the 5 MiB part size, of unknown length: a multipart upload on each member.
        files.put("/up/ftp-big.bin", random(6 * 1024 * 1024 + 17, 4));
        files.put("/up/http-2.bin", random(1, 5));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            if (f.getKey().contains("ftp")) {
                ftpStore(ftp, f.getKey(), f.getValue());
            } else if (f.getKey().contains("chunked")) {
                assertEquals(201, putChunked("alice", "secret", f.getKey(), f.getValue()));
            } else {
                assertEquals(201, put("alice", "secret", f.getKey(), f.getValue()));
            }
        }

        Map<String, Long> copyBytes = new TreeMap<>();
        Map<String, Long> copyObjects = new TreeMap<>();
        long logical = 0;
        long extraOut = 0; // downloaded besides one full download of each file over each protocol
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Set<String> holders = assertTwoCopies("alice" + f.getKey(), f.getValue());
            for (String m : holders) {
                copyBytes.merge(m, (long) f.getValue().length, Long::sum);
                copyObjects.merge(m, 1L, Long::sum);
            }
            logical += f.getValue().length;
            assertArrayEquals(f.getValue(), get("alice", "secret", f.getKey()), f.getKey());
            assertArrayEquals(f.getValue(), ftpRetrieve(ftp, f.getKey()), f.getKey());
        }
        byte[] big = files.get("/up/ftp-big.bin");
        HttpGet range = auth(new HttpGet(http.resolve("/files/up/ftp-big.bin")), "alice", "secret");
        range.setHeader("Range", "bytes=5242000-5243000");
        byte[] part = httpClient.execute(range, r -> {
            assertEquals(206, r.getCode());
            return EntityUtils.toByteArray(r.getEntity());
        });
        assertArrayEquals(Arrays.copyOfRange(big, 5_242_000, 5_243_001), part);
        extraOut += part.length;
        // The headers of a download, as of any file.
        String[] got = httpClient.execute(auth(new HttpGet(http.resolve("/files/up/http-1.bin")), "alice", "secret"), r -> {
            assertEquals(200, r.getCode());
            assertArrayEquals(files.get("/up/http-1.bin"), EntityUtils.toByteArray(r.getEntity()));
            return new String[] {header(r, "ETag"), header(r, "Last-Modified"), header(r, "Content-Length")};
        });
        extraOut += files.get("/up/http-1.bin").length;
        assertTrue(got[0] != null && got[0].matches("\"[^\"]+\""), "ETag: " + got[0]);
        assertTrue(got[1] != null && got[1].endsWith(" GMT"), "Last-Modified: " + got[1]);
        assertEquals("123457", got[2]);
        String[] head = httpClient.execute(auth(new HttpHead(http.resolve("/files/up/http-1.bin")), "alice", "secret"), r -> {
            assertEquals(200, r.getCode());
            return new String[] {header(r, "ETag"), header(r, "Last-Modified"), header(r, "Content-Length")};
        });
        assertArrayEquals(got, head, "HEAD answers as GET does");
        assertNotEquals(got[0], etag("/up/http-2.bin"), "each file its own ETag");
        // Round-robin over three healthy members: six placements of two copies, four on each.
        assertEquals(Map.of("s3-a", 4L, "s3-b", 4L, "s3-c", 4L), copyObjects);

        JsonNode after = settledStats();
        long memberSum = 0;
        for (String m : MEMBERS) {
            long delta = backendBytes(after, m) - backendBytes(before, m);
            assertEquals(copyBytes.getOrDefault(m, 0L), delta, m + " bytes");
            assertEquals(copyObjects.getOrDefault(m, 0L), backendObjects(after, m) - backendObjects(before, m), m + " objects");
            memberSum += delta;
        }
        assertEquals(2 * logical, memberSum);
        assertFalse(after.path("stored").path("byBackend").has(POOL), "the pool shows as its members");
        assertEquals(userBytes(before, "alice") + logical, userBytes(after, "alice"));
        assertEquals(userObjects(before, "alice") + files.size(), userObjects(after, "alice"));
        assertEquals(transferred(before, "alice", "bytesIn") + logical, transferred(after, "alice", "bytesIn"));
        assertEquals(transferred(before, "alice", "filesIn") + files.size(), transferred(after, "alice", "filesIn"));
        assertEquals(transferred(before, "alice", "failedIn"), transferred(after, "alice", "failedIn"));
        assertEquals(transferred(before, "alice", "bytesOut") + 2 * logical + extraOut, transferred(after, "alice", "bytesOut"));
        assertStatsMatchStorage(after);
    }

    @Test
    @Order(2)
    void listingsShowEachEntryOnceInOrderOverFtpAndHttp() throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("/list/charlie.txt", random(300, 10));
        files.put("/list/alpha.txt", random(100, 11));
        files.put("/list/sub/delta.txt", random(400, 12));
        files.put("/list/bravo.txt", random(200, 13));
        int i = 0;
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            if (i++ % 2 == 0) {
                ftpStore(ftp, f.getKey(), f.getValue());
            } else {
                assertEquals(201, put("alice", "secret", f.getKey(), f.getValue()));
            }
            assertTwoCopies("alice" + f.getKey(), f.getValue());
        }
        List<String> expected = List.of("alpha.txt", "bravo.txt", "charlie.txt", "sub");
        // MINA's lister, behind LIST, NLST and MLSD, puts the folders first, each group in
        // the storage's order: by name.
        List<String> overFtp = List.of("sub", "alpha.txt", "bravo.txt", "charlie.txt");

        FTPFile[] mlsd = ftp.mlistDir("/list");
        assertTrue(ftpOk(ftp), ftp.getReplyString());
        assertEquals(overFtp, Arrays.stream(mlsd).map(FTPFile::getName).toList(), "MLSD: each entry once, in order");
        Map<String, FTPFile> byName = new HashMap<>();
        Arrays.stream(mlsd).forEach(f -> byName.put(f.getName(), f));
        assertEquals(100, byName.get("alpha.txt").getSize());
        assertEquals(200, byName.get("bravo.txt").getSize());
        assertEquals(300, byName.get("charlie.txt").getSize());
        assertTrue(byName.get("sub").isDirectory());
        assertTrue(byName.get("alpha.txt").isFile());

        String[] nlst = ftp.listNames("/list");
        assertEquals(overFtp, Arrays.stream(nlst).map(n -> n.replaceFirst(".*/", "")).toList(), "NLST: each once, in order");
        FTPFile[] list = ftp.listFiles("/list");
        assertEquals(overFtp, Arrays.stream(list).map(FTPFile::getName).toList(), "LIST: each once, in order");
        assertEquals(300, list[3].getSize());

        JsonNode listing = httpClient.execute(auth(new HttpGet(http.resolve("/files/list/")), "alice", "secret"), r -> {
            assertEquals(200, r.getCode());
            return json.readTree(EntityUtils.toString(r.getEntity()));
        });
        assertEquals("/list/", listing.path("path").asText());
        List<String> httpNames = new ArrayList<>();
        listing.path("entries").forEach(e -> httpNames.add(e.path("name").asText()));
        assertEquals(expected, httpNames, "HTTP: sorted, each once");
        assertEquals("file", listing.path("entries").get(0).path("type").asText());
        assertEquals(100, listing.path("entries").get(0).path("size").asLong());
        assertEquals("dir", listing.path("entries").get(3).path("type").asText());

        // An empty folder is a marker on the members: listed once, then removed from all.
        assertTrue(ftp.makeDirectory("/list/empty"), ftp.getReplyString());
        assertEquals(List.of("empty", "sub", "alpha.txt", "bravo.txt", "charlie.txt"),
                Arrays.stream(ftp.mlistDir("/list")).map(FTPFile::getName).toList());
        assertTrue(ftp.changeWorkingDirectory("/list/empty"), ftp.getReplyString());
        assertEquals(0, ftp.mlistDir().length);
        assertTrue(ftp.removeDirectory("/list/empty"), ftp.getReplyString());
        assertEquals(overFtp, Arrays.stream(ftp.mlistDir("/list")).map(FTPFile::getName).toList());
        assertFalse(ftp.changeWorkingDirectory("/list/empty"));
        assertStatsMatchStorage(settledStats());
    }

    @Test
    @Order(3)
    void deletesOverFtpAndHttpRemoveBothCopies() throws Exception {
        byte[] a = random(4_321, 20);
        byte[] b = random(12_345, 21);
        assertEquals(201, put("alice", "secret", "/del/a.bin", a));
        ftpStore(ftp, "/del/b.bin", b);
        Set<String> onA = assertTwoCopies("alice/del/a.bin", a);
        Set<String> onB = assertTwoCopies("alice/del/b.bin", b);
        JsonNode before = settledStats();

        assertTrue(ftp.deleteFile("/del/a.bin"), ftp.getReplyString());
        assertEquals(204, delete("alice", "secret", "/del/b.bin"));
        for (String m : MEMBERS) {
            assertFalse(exists(m, "alice/del/a.bin"), m);
            assertFalse(exists(m, "alice/del/b.bin"), m);
        }
        assertEquals(404, status(new HttpGet(http.resolve("/files/del/a.bin")), "alice", "secret"));
        assertEquals(404, delete("alice", "secret", "/del/b.bin"));

        JsonNode after = settledStats();
        for (String m : MEMBERS) {
            long bytes = (onA.contains(m) ? a.length : 0) + (onB.contains(m) ? b.length : 0);
            long objects = (onA.contains(m) ? 1 : 0) + (onB.contains(m) ? 1 : 0);
            assertEquals(backendBytes(before, m) - bytes, backendBytes(after, m), m);
            assertEquals(backendObjects(before, m) - objects, backendObjects(after, m), m);
        }
        assertEquals(userBytes(before, "alice") - a.length - b.length, userBytes(after, "alice"));
        assertEquals(userObjects(before, "alice") - 2, userObjects(after, "alice"));
        assertStatsMatchStorage(after);
    }

    @Test
    @Order(4)
    void renameMovesBothCopiesAndDropsTheReplacedOnesElsewhere() throws Exception {
        byte[] moving = random(5_000, 30);
        assertEquals(201, put("alice", "secret", "/mv/from.bin", moving));
        Set<String> holders = assertTwoCopies("alice/mv/from.bin", moving);
        JsonNode before = settledStats();

        assertTrue(ftp.rename("/mv/from.bin", "/mv/to.bin"), ftp.getReplyString());
        for (String m : MEMBERS) {
            assertFalse(exists(m, "alice/mv/from.bin"), m);
        }
        assertEquals(holders, assertTwoCopies("alice/mv/to.bin", moving), "the copies stay on their members");
        assertArrayEquals(moving, get("alice", "secret", "/mv/to.bin"));
        assertEquals(404, status(new HttpGet(http.resolve("/files/mv/from.bin")), "alice", "secret"));
        JsonNode after = settledStats();
        for (String m : MEMBERS) {
            assertEquals(backendBytes(before, m), backendBytes(after, m), m);
        }
        assertEquals(userBytes(before, "alice"), userBytes(after, "alice"));

        // A rename over a file whose copies lie on another pair of members: the replaced
        // copy on the member the source is not on must go.
        byte[] target = random(7_000, 31);
        byte[] source = random(9_000, 32);
        assertEquals(201, put("alice", "secret", "/mv/target.bin", target));
        ftpStore(ftp, "/mv/source.bin", source);
        Set<String> targetOn = assertTwoCopies("alice/mv/target.bin", target);
        Set<String> sourceOn = assertTwoCopies("alice/mv/source.bin", source);
        assertNotEquals(targetOn, sourceOn, "round-robin puts two uploads in a row on different pairs");
        before = settledStats();

        assertTrue(ftp.rename("/mv/source.bin", "/mv/target.bin"), ftp.getReplyString());
        assertEquals(sourceOn, assertTwoCopies("alice/mv/target.bin", source));
        for (String m : MEMBERS) {
            assertFalse(exists(m, "alice/mv/source.bin"), m);
        }
        assertArrayEquals(source, ftpRetrieve(ftp, "/mv/target.bin"));
        after = settledStats();
        for (String m : MEMBERS) {
            long expected = backendBytes(before, m) - (targetOn.contains(m) ? target.length : 0);
            assertEquals(expected, backendBytes(after, m), m);
        }
        assertEquals(userBytes(before, "alice") - target.length, userBytes(after, "alice"));
        assertEquals(userObjects(before, "alice") - 1, userObjects(after, "alice"));
        assertStatsMatchStorage(after);
    }

    @Test
    @Order(5)
    void anOverwriteOnOtherMembersRemovesTheOldCopies() throws Exception {
        byte[] first = random(20_000, 40);
        byte[] second = random(8_000, 41);
        byte[] third = random(11_000, 42);
        assertEquals(201, put("alice", "secret", "/over/x.bin", first));
        Set<String> firstOn = assertTwoCopies("alice/over/x.bin", first);
        JsonNode before = settledStats();

        String firstEtag = etag("/over/x.bin");
        assertEquals(200, put("alice", "secret", "/over/x.bin", second));
        assertNotEquals(firstEtag, etag("/over/x.bin"), "an overwrite changes the ETag");
        Set<String> secondOn = assertTwoCopies("alice/over/x.bin", second);
        assertNotEquals(firstOn, secondOn, "round-robin puts the overwrite on another pair");
        ftpStore(ftp, "/over/x.bin", third);
        Set<String> thirdOn = assertTwoCopies("alice/over/x.bin", third);
        assertNotEquals(secondOn, thirdOn);
        assertArrayEquals(third, get("alice", "secret", "/over/x.bin"));

        JsonNode after = settledStats();
        for (String m : MEMBERS) {
            long expected = backendBytes(before, m) - (firstOn.contains(m) ? first.length : 0)
                    + (thirdOn.contains(m) ? third.length : 0);
            assertEquals(expected, backendBytes(after, m), m);
        }
        assertEquals(userBytes(before, "alice") - first.length + third.length, userBytes(after, "alice"));
        assertEquals(userObjects(before, "alice"), userObjects(after, "alice"));

        // APPE rewrites the object with the kept bytes first: one more overwrite, on another pair.
        byte[] tail = random(3_000, 43);
        byte[] appended = Arrays.copyOf(third, third.length + tail.length);
        System.arraycopy(tail, 0, appended, third.length, tail.length);
        assertTrue(ftp.appendFile("/over/x.bin", new ByteArrayInputStream(tail)), ftp.getReplyString());
        Set<String> appendedOn = assertTwoCopies("alice/over/x.bin", appended);
        assertNotEquals(thirdOn, appendedOn);
        assertArrayEquals(appended, ftpRetrieve(ftp, "/over/x.bin"));
        JsonNode appendedStats = settledStats();
        assertEquals(transferred(after, "alice", "bytesIn") + tail.length, transferred(appendedStats, "alice", "bytesIn"),
                "only the appended bytes come from the client");
        for (String m : MEMBERS) {
            long expected = backendBytes(after, m) - (thirdOn.contains(m) ? third.length : 0)
                    + (appendedOn.contains(m) ? appended.length : 0);
            assertEquals(expected, backendBytes(appendedStats, m), m);
        }
        assertEquals(userBytes(after, "alice") + tail.length, userBytes(appendedStats, "alice"));
        after = appendedStats;
        assertStatsMatchStorage(after);
    }

    @Test
    @Order(6)
    void aFolderRuleKeepsItsFilesOnItsOwnBackend() throws Exception {
        JsonNode before = settledStats();
        byte[] x = random(15_000, 50);
        byte[] y = random(25_000, 51);
        byte[] z = random(35_000, 52);
        FTPClient bobFtp = login("bob", "builder");
        try {
            ftpStore(bobFtp, "/archive/x.bin", x);
            assertArrayEquals(x, ftpRetrieve(bobFtp, "/archive/x.bin"));
        } finally {
            bobFtp.disconnect();
        }
        assertEquals(201, put("bob", "builder", "/y.bin", y));
        assertEquals(201, put("bob", "builder", "/archive/deeper/z.bin", z));

        assertArrayEquals(x, Files.readAllBytes(data.resolve("files/bob/archive/x.bin")));
        assertArrayEquals(z, Files.readAllBytes(data.resolve("files/bob/archive/deeper/z.bin")));
        for (String m : MEMBERS) {
            assertFalse(exists(m, "bob/archive/x.bin"), m);
            assertFalse(exists(m, "bob/archive/deeper/z.bin"), m);
        }
        Set<String> yOn = assertTwoCopies("bob/y.bin", y);
        assertFalse(Files.exists(data.resolve("files/bob/y.bin")));
        assertArrayEquals(y, get("bob", "builder", "/y.bin"));
        assertArrayEquals(z, get("bob", "builder", "/archive/deeper/z.bin"));

        JsonNode after = settledStats();
        assertEquals(backendBytes(before, "local") + x.length + z.length, backendBytes(after, "local"));
        assertEquals(backendObjects(before, "local") + 2, backendObjects(after, "local"));
        for (String m : MEMBERS) {
            assertEquals(backendBytes(before, m) + (yOn.contains(m) ? y.length : 0), backendBytes(after, m), m);
        }
        assertEquals(x.length + y.length + z.length, userBytes(after, "bob"));
        assertEquals(3, userObjects(after, "bob"));
        assertStatsMatchStorage(after);
    }

    @Test
    @Order(7)
    void uploadsAndDownloadsCarryOnWhileAMemberIsDownAndItComesBack() throws Exception {
        S3ProxyFixture serverB = servers.get("s3-b");
        JsonNode before = settledStats();
        List<String> paths = new ArrayList<>();
        Map<String, byte[]> contents = new HashMap<>();
        long sent = 0;
        long received = 0;
        int downloads = 0;
        int stoppedAt = -1;
        Random sizes = new Random(60);
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            for (int i = 0; i < 40; i++) {
                String path = "/run/f" + i + ".bin";
                Future<byte[]> fallbackRead = null;
                String readBack = null;
                // Once a dozen files are up, s3-b stops just before an upload that round-robin
                // sends to it first or second (the one after an upload that began on s3-b
                // would skip it). At once, before the pool can know, this upload's copy meant
                // for s3-b moves on to the third member, and a read whose first recorded copy
                // is on s3-b falls back to the other one.
                if (stoppedAt < 0 && i >= 12 && !firstCopy(paths.get(paths.size() - 1)).equals("s3-b")) {
                    serverB.stop();
                    stoppedAt = i;
                    readBack = paths.stream().filter(p -> firstCopy(p).equals("s3-b")).findFirst().orElseThrow();
                    String r = readBack;
                    fallbackRead = reader.submit(() -> get("alice", "secret", r));
                }
                byte[] content = random(1 + sizes.nextInt(200_000), 100 + i);
                if (i % 2 == 0) {
                    ftpStore(ftp, path, content);
                } else {
                    assertEquals(201, put("alice", "secret", path, content), path);
                }
                sent += content.length;
                paths.add(path);
                contents.put(path, content);
                if (stoppedAt < 0) {
                    assertTwoCopies("alice" + path, content);
                } else {
                    // Both copies on the members still up.
                    for (String m : List.of("s3-a", "s3-c")) {
                        assertArrayEquals(content, object(m, "alice" + path), m + " " + path);
                    }
                }
                if (fallbackRead != null) {
                    assertArrayEquals(contents.get(readBack), fallbackRead.get(), readBack);
                    received += contents.get(readBack).length;
                    downloads++;
                    // Every object has a live copy.
                    for (String p : paths) {
                        received += download(p, contents.get(p), downloads++);
                    }
                }
                String earlier = paths.get((i * 7) % paths.size());
                received += download(earlier, contents.get(earlier), downloads++);
            }
        } finally {
            reader.shutdownNow();
        }
        assertTrue(stoppedAt >= 12 && stoppedAt <= 14, "stopped at " + stoppedAt);
        awaitTrue(() -> !healthy("s3-b"), "s3-b is unhealthy while it is down");

        JsonNode after = settledStats();
        assertEquals(transferred(before, "alice", "bytesIn") + sent, transferred(after, "alice", "bytesIn"));
        assertEquals(transferred(before, "alice", "filesIn") + 40, transferred(after, "alice", "filesIn"));
        assertEquals(transferred(before, "alice", "failedIn"), transferred(after, "alice", "failedIn"));
        assertEquals(transferred(before, "alice", "bytesOut") + received, transferred(after, "alice", "bytesOut"));
        assertEquals(transferred(before, "alice", "filesOut") + downloads, transferred(after, "alice", "filesOut"));
        assertEquals(transferred(before, "alice", "failedOut"), transferred(after, "alice", "failedOut"));
        assertEquals(userBytes(before, "alice") + sent, userBytes(after, "alice"));
        assertEquals(userObjects(before, "alice") + 40, userObjects(after, "alice"));

        // Back on the same port with the same data: the probe finds it, and it takes copies again.
        serverB.restart();
        awaitTrue(() -> healthy("s3-b"), "s3-b is healthy again after a probe");
        int onB = 0;
        for (int i = 40; i < 43; i++) {
            String path = "/run/f" + i + ".bin";
            byte[] content = random(10_000 + i, 100 + i);
            if (i % 2 == 0) {
                ftpStore(ftp, path, content);
            } else {
                assertEquals(201, put("alice", "secret", path, content), path);
            }
            if (assertTwoCopies("alice" + path, content).contains("s3-b")) {
                onB++;
            }
        }
        assertEquals(2, onB, "round-robin over three healthy members: two of three objects have a copy on s3-b");
        // What s3-b held before it stopped is still there and still read.
        for (String p : paths.subList(0, stoppedAt)) {
            assertArrayEquals(contents.get(p), get("alice", "secret", p), p);
        }
        assertStatsMatchStorage(settledStats());
    }

    // ---- checks against the storage itself

    /**
     * Every member's bucket and the local backend's folder, listed as a user would, against
     * /api/stats: each member's copies exactly, each user's logical bytes once.
     */
    @Test
    @Order(8)
    void afterAllThisReconcileFindsTheLedgerAndTheBucketsAgreeingToTheByte() throws Exception {
        JsonNode before = settledStats();
        gateway.close();
        gateway = null;
        // The credentials written out: reconcile reads the file as a user's config.
        String text = yaml.replace("${S3_ACCESS_KEY}", env.get("S3_ACCESS_KEY"))
                .replace("${S3_SECRET_KEY}", env.get("S3_SECRET_KEY"));
        Path config = data.resolve("gateway.yaml");
        java.nio.file.Files.writeString(config, text);
        CommandLineTest.Result r = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("no drift"), r.out());
        assertFalse(r.out().contains("missing copy") || r.out().contains("extra copy"), r.out());
        // The pool's logical row for alice carries what /api/stats said she stores.
        long aliceBytes = before.at("/stored/byUser/alice/bytes").asLong();
        assertTrue(r.out().lines().anyMatch(l -> l.matches("spread\\s+alice\\s+" + aliceBytes + "\\s+" + aliceBytes + "\\s+0\\s.*")),
                r.out());
    }

    private void assertStatsMatchStorage(JsonNode stats) throws IOException {
        Map<String, JsonNode> reported = new HashMap<>();
        backends().path("backends").forEach(b -> reported.put(b.path("name").asText(), b));
        Map<String, long[]> userTotals = new TreeMap<>();
        Set<String> counted = new TreeSet<>();
        long memberBytes = 0;
        for (String m : MEMBERS) {
            long bytes = 0;
            long objects = 0;
            for (S3Object o : allObjects(m)) {
                bytes += o.size();
                objects++;
                if (counted.add(o.key())) {
                    String user = o.key().substring(0, o.key().indexOf('/'));
                    userTotals.computeIfAbsent(user, u -> new long[2])[0] += o.size();
                    userTotals.get(user)[1]++;
                }
            }
            assertEquals(bytes, backendBytes(stats, m), m + ": bytes of its copies");
            assertEquals(objects, backendObjects(stats, m), m + ": its copies");
            assertEquals(bytes, reported.get(m).path("storedBytes").asLong(), m + ": /api/backends storedBytes");
            assertEquals(objects, reported.get(m).path("objects").asLong(), m + ": /api/backends objects");
            memberBytes += bytes;
        }
        long localBytes = 0;
        long localObjects = 0;
        Path root = data.resolve("files");
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                long size = Files.size(p);
                localBytes += size;
                localObjects++;
                String user = root.relativize(p).getName(0).toString();
                userTotals.computeIfAbsent(user, u -> new long[2])[0] += size;
                userTotals.get(user)[1]++;
            }
        }
        assertEquals(localBytes, backendBytes(stats, "local"), "local: bytes");
        assertEquals(localObjects, backendObjects(stats, "local"), "local: objects");
        for (Map.Entry<String, long[]> u : userTotals.entrySet()) {
            assertEquals(u.getValue()[0], userBytes(stats, u.getKey()), u.getKey() + ": logical bytes");
            assertEquals(u.getValue()[1], userObjects(stats, u.getKey()), u.getKey() + ": logical objects");
        }
        long logical = userTotals.values().stream().mapToLong(t -> t[0]).sum();
        assertEquals(logical, stats.path("stored").path("bytes").asLong());
        assertEquals(2 * (logical - localBytes), memberBytes, "two copies of each pooled byte");
        JsonNode pool = backends().path("pools").get(0);
        assertEquals(POOL, pool.path("name").asText());
        assertEquals(logical - localBytes, pool.path("storedBytes").asLong(), "the pool's logical bytes");
    }

    /** The objects of a member's bucket: the keys of files, not the folders S3Proxy's file system shows. */
    private static List<S3Object> allObjects(String member) {
        S3Client client = servers.get(member).client();
        List<S3Object> out = new ArrayList<>();
        client.listObjectsV2Paginator(l -> l.bucket(buckets.get(member))).contents().forEach(o -> {
            if (!o.key().endsWith("/")) {
                assertFalse(o.key().contains(".mpus-"), member + ": a multipart upload is left over: " + o.key());
                out.add(o);
            }
        });
        return out;
    }

    /** Checks that {@code key} lies on exactly two members with exactly {@code content}; returns them. */
    private static Set<String> assertTwoCopies(String key, byte[] content) {
        Set<String> holders = new TreeSet<>();
        for (String m : MEMBERS) {
            if (exists(m, key)) {
                assertArrayEquals(content, object(m, key), m + ": " + key);
                holders.add(m);
            }
        }
        assertEquals(2, holders.size(), key + " lies on " + holders);
        return holders;
    }

    private static boolean exists(String member, String key) {
        try {
            servers.get(member).client().headObject(h -> h.bucket(buckets.get(member)).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    private static byte[] object(String member, String key) {
        return servers.get(member).client()
                .getObject(g -> g.bucket(buckets.get(member)).key(key), ResponseTransformer.toBytes()).asByteArray();
    }

    /** The member that the pool recorded first for the object of {@code path} of alice: where its rotation began. */
    private static String firstCopy(String path) {
        try {
            return gateway.meter().placements().copies(POOL, "alice" + path).get(0).backend();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether GET /api/backends shows {@code backend} healthy. */
    private boolean healthy(String backend) {
        for (JsonNode b : backends().path("backends")) {
            if (b.path("name").asText().equals(backend)) {
                return b.path("healthy").asBoolean();
            }
        }
        throw new AssertionError("no backend " + backend + " in /api/backends");
    }

    private JsonNode backends() {
        try {
            return httpClient.execute(auth(new HttpGet(http.resolve("/api/backends")), "root", "toor"), r -> {
                assertEquals(200, r.getCode());
                return json.readTree(EntityUtils.toString(r.getEntity()));
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + DEADLINE.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    // ---- clients

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static FTPClient login(String user, String password) throws IOException {
        FTPClient client = new FTPClient();
        client.setControlEncoding("UTF-8");
        client.connect("127.0.0.1", ftpPort);
        assertTrue(client.login(user, password), client.getReplyString());
        client.enterLocalPassiveMode();
        client.setFileType(FTP.BINARY_FILE_TYPE);
        return client;
    }

    private static boolean ftpOk(FTPClient client) {
        return FTPReply.isPositiveCompletion(client.getReplyCode());
    }

    private static void ftpStore(FTPClient client, String path, byte[] content) throws IOException {
        assertTrue(client.storeFile(path, new ByteArrayInputStream(content)), path + ": " + client.getReplyString());
        assertEquals(226, client.getReplyCode(), path);
    }

    private static byte[] ftpRetrieve(FTPClient client, String path) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(client.retrieveFile(path, out), path + ": " + client.getReplyString());
        return out.toByteArray();
    }

    /** Downloads {@code path} over FTP or HTTP by turns, checks its bytes, returns their number. */
    private long download(String path, byte[] expected, int turn) throws IOException {
        byte[] got = turn % 2 == 0 ? ftpRetrieve(ftp, path) : get("alice", "secret", path);
        assertArrayEquals(expected, got, path);
        return got.length;
    }

    private static <T extends HttpUriRequestBase> T auth(T req, String user, String password) {
        req.setHeader("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
        return req;
    }

    private int put(String user, String password, String path, byte[] body) throws IOException {
        HttpPut put = auth(new HttpPut(http.resolve("/files" + path)), user, password);
        put.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_OCTET_STREAM));
        return httpClient.execute(put, r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        });
    }

    private int putChunked(String user, String password, String path, byte[] body) throws IOException {
        HttpPut put = auth(new HttpPut(http.resolve("/files" + path)), user, password);
        put.setEntity(new InputStreamEntity(new ByteArrayInputStream(body), -1, ContentType.APPLICATION_OCTET_STREAM));
        return httpClient.execute(put, r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        });
    }

    private byte[] get(String user, String password, String path) throws IOException {
        return httpClient.execute(auth(new HttpGet(http.resolve("/files" + path)), user, password), r -> {
            assertEquals(200, r.getCode(), path);
            return EntityUtils.toByteArray(r.getEntity());
        });
    }

    private static String header(HttpResponse r, String name) {
        Header h = r.getFirstHeader(name);
        return h == null ? null : h.getValue();
    }

    /** The ETag that HEAD gives alice's file at {@code path}. */
    private String etag(String path) throws IOException {
        return httpClient.execute(auth(new HttpHead(http.resolve("/files" + path)), "alice", "secret"), r -> {
            assertEquals(200, r.getCode(), path);
            String etag = header(r, "ETag");
            assertTrue(etag != null && etag.matches("\"[^\"]+\""), path + ": ETag " + etag);
            return etag;
        });
    }

    private int delete(String user, String password, String path) throws IOException {
        return status(new HttpDelete(http.resolve("/files" + path)), user, password);
    }

    private int status(HttpUriRequestBase request, String user, String password) throws IOException {
        return httpClient.execute(auth(request, user, password), r -> {
            EntityUtils.consume(r.getEntity());
            return r.getCode();
        });
    }

    /**
     * /api/stats once no transfer is active: a download is counted when the gateway closes
     * it, which may come just after the client has read its last byte.
     */
    private JsonNode settledStats() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (true) {
            JsonNode s = httpClient.execute(auth(new HttpGet(http.resolve("/api/stats")), "root", "toor"), r -> {
                assertEquals(200, r.getCode());
                return json.readTree(EntityUtils.toString(r.getEntity()));
            });
            if (s.path("active").isEmpty()) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                fail("transfers still active: " + s.path("active"));
            }
            Thread.sleep(20);
        }
    }

    private static long backendBytes(JsonNode s, String backend) {
        return s.path("stored").path("byBackend").path(backend).path("bytes").asLong();
    }

    private static long backendObjects(JsonNode s, String backend) {
        return s.path("stored").path("byBackend").path(backend).path("objects").asLong();
    }

    private static long userBytes(JsonNode s, String user) {
        return s.path("stored").path("byUser").path(user).path("bytes").asLong();
    }

    private static long userObjects(JsonNode s, String user) {
        return s.path("stored").path("byUser").path(user).path("objects").asLong();
    }

    private static long transferred(JsonNode s, String user, String field) {
        return s.path("transferred").path("byUser").path(user).path(field).asLong();
    }
}
