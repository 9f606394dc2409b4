package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.hc.client5.http.classic.methods.HttpPut;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Uploads of one key at the same moment, over FTP and HTTP together, onto local disk and
 * into S3, and from two gateways sharing one PostgreSQL ledger: the last commit wins
 * whole, the file is counted once, and the ledger's stored bytes are what the backend
 * holds. Each round races six uploads of a new key; 20 rounds per case.
 */
class SameKeyUploadsTest {
    private static final int ROUNDS = 20;
    private static final int UPLOADS = 6;
    private static final String BUCKET = "same-key";

    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static S3Client s3client;
    static Gateway gateway;
    static final ExecutorService pool = Executors.newFixedThreadPool(UPLOADS);

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        s3client = s3.client();
        gateway = Gateway.start(config("gw", "", data.resolve("files"), "ledger: {url: " + data.resolve("ledger") + "}", 52500));
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
        if (gateway != null) {
            gateway.close();
        }
    }

    /** Backends named {@code archive<suffix>} (S3, under {@code prefix}) and {@code local<suffix>}. */
    private static GatewayConfig config(String prefix, String suffix, Path files, String ledger, int passivePorts) throws Exception {
        return new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: %1$d-%2$d}
                http: {port: 0}
                storage:
                  backends:
                    - {name: archive%6$s, type: s3, bucket: %3$s, prefix: %4$s/, endpoint: %5$s, path-style: true,
                       access-key: %7$s, secret-key: %8$s, checksums: when-required}
                    - {name: local%6$s, type: local, root: %9$s}
                users:
                  - {name: alice, password: secret, backend: archive%6$s}
                  - {name: bob, password: secret, backend: local%6$s}
                %10$s
                """.formatted(passivePorts, passivePorts + 100, BUCKET, prefix, s3.endpoint(), suffix, s3.accessKey(), s3.secretKey(), files, ledger));
    }

    private static byte[] body(int round, int i) {
        byte[] b = new byte[100_000 + i * 1_111 + round];
        new Random(round * 31L + i).nextBytes(b);
        return b;
    }

    /** One upload; returns FTP's reply code or HTTP's status. */
    private static int upload(Gateway gw, boolean ftp, String user, String path, byte[] body) throws Exception {
        if (ftp) {
            FTPClient c = new FTPClient();
            c.connect("127.0.0.1", gw.ftpAddress().getPort());
            c.login(user, "secret");
            c.enterLocalPassiveMode();
            c.setFileType(FTP.BINARY_FILE_TYPE);
            c.storeFile(path, new ByteArrayInputStream(body));
            int code = c.getReplyCode();
            c.disconnect();
            return code;
        }
        try (CloseableHttpClient http = HttpClients.createDefault()) {
            HttpPut put = new HttpPut(URI.create("http://127.0.0.1:" + gw.httpAddress().getPort() + "/files" + path));
            put.setHeader("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":secret").getBytes()));
            put.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_OCTET_STREAM));
            return http.execute(put, r -> r.getCode());
        }
    }

    /** Races {@link #UPLOADS} uploads of one key, half over FTP, half over HTTP, spread over the gateways. */
    private static List<byte[]> race(List<Gateway> gateways, String user, String path, int round) throws Exception {
        CyclicBarrier start = new CyclicBarrier(UPLOADS);
        List<byte[]> bodies = new ArrayList<>();
        List<Future<Integer>> results = new ArrayList<>();
        for (int i = 0; i < UPLOADS; i++) {
            byte[] b = body(round, i);
            bodies.add(b);
            boolean ftp = i % 2 == 0;
            Gateway gw = gateways.get(i % gateways.size());
            Callable<Integer> call = () -> {
                start.await();
                return upload(gw, ftp, user, path, b);
            };
            results.add(pool.submit(call));
        }
        int created = 0;
        for (int i = 0; i < UPLOADS; i++) {
            int code = results.get(i).get();
            if (i % 2 == 0) {
                assertEquals(226, code, "round " + round + ": FTP upload " + i);
            } else {
                assertTrue(code == 201 || code == 200, "round " + round + ": HTTP upload " + i + " answered " + code);
                created += code == 201 ? 1 : 0;
            }
        }
        assertTrue(created <= 1, "round " + round + ": " + created + " uploads of one key answered 201 Created");
        return bodies;
    }

    private static void assertOneOfWhole(List<byte[]> bodies, byte[] stored, int round) {
        assertTrue(bodies.stream().anyMatch(b -> Arrays.equals(b, stored)),
                "round " + round + ": the stored file (" + stored.length + " bytes) is none of the uploads whole");
    }

    private static void awaitIdle(Gateway gw) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!gw.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
    }

    @Test
    void uploadsOfOneKeyOntoLocalDiskAreCountedOnceWithTheSizeKept() throws Exception {
        raceRounds("local", "bob", round -> Files.readAllBytes(data.resolve("files/bob/race-" + round + ".bin")));
    }

    @Test
    void uploadsOfOneKeyIntoS3AreCountedOnceWithTheSizeKept() throws Exception {
        raceRounds("archive", "alice", round -> s3client.getObjectAsBytes(
                b -> b.bucket(BUCKET).key("gw/alice/race-" + round + ".bin")).asByteArray());
    }

    /** What the backend holds for the round's key. */
    private interface Stored {
        byte[] of(int round) throws Exception;
    }

    /** Rounds of racing uploads of a new key by {@code user} on {@code backend} of the one gateway. */
    private static void raceRounds(String backend, String user, Stored stored) throws Exception {
        StoredTotals before = gateway.meter().storedOf(backend, user);
        long expectedBytes = before.bytes();
        for (int round = 0; round < ROUNDS; round++) {
            List<byte[]> bodies = race(List.of(gateway), user, "/race-" + round + ".bin", round);
            awaitIdle(gateway);
            byte[] now = stored.of(round);
            assertOneOfWhole(bodies, now, round);
            expectedBytes += now.length;
            assertEquals(new StoredTotals(expectedBytes, before.objects() + round + 1), gateway.meter().storedOf(backend, user),
                    "round " + round);
        }
    }

    @Test
    void twoGatewaysOnOnePostgresLedgerOrderTheirCommits() throws Exception {
        String url = System.getenv("GATEWAY_TEST_POSTGRES_URL");
        Assumptions.assumeTrue(url != null, "GATEWAY_TEST_POSTGRES_URL is not set");
        // Backends of this run's own, so that totals left in the database by earlier runs do not count.
        String run = "pg" + Long.toString(System.nanoTime(), 36);
        Path files = data.resolve(run);
        Gateway a = Gateway.start(config(run, "-" + run, files, "ledger: {url: '" + url + "'}\ncluster: {node-id: " + run + "-a}", 52700));
        Gateway b = Gateway.start(config(run, "-" + run, files, "ledger: {url: '" + url + "'}\ncluster: {node-id: " + run + "-b}", 52900));
        try {
            long localBytes = 0;
            long s3Bytes = 0;
            for (int round = 0; round < ROUNDS; round++) {
                List<byte[]> onDisk = race(List.of(a, b), "bob", "/race-" + round + ".bin", round);
                List<byte[]> inS3 = race(List.of(a, b), "alice", "/race-" + round + ".bin", round);
                awaitIdle(a);
                awaitIdle(b);
                byte[] disk = Files.readAllBytes(files.resolve("bob/race-" + round + ".bin"));
                String key = run + "/alice/race-" + round + ".bin";
                byte[] object = s3client.getObjectAsBytes(o -> o.bucket(BUCKET).key(key)).asByteArray();
                assertOneOfWhole(onDisk, disk, round);
                assertOneOfWhole(inS3, object, round);
                localBytes += disk.length;
                s3Bytes += object.length;
            }
            // What the shared ledger holds: a fresh reader of the database.
            try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC(), run + "-reader")) {
                var stored = ledger.load().stored();
                assertEquals(new StoredTotals(localBytes, ROUNDS), stored.get("local-" + run).get("bob"), "local disk");
                assertEquals(new StoredTotals(s3Bytes, ROUNDS), stored.get("archive-" + run).get("alice"), "S3");
            }
        } finally {
            a.close();
            b.close();
        }
    }
}
