package org.transfergateway.storage.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.pool.Member;
import org.transfergateway.storage.pool.PlacementPolicy;
import org.transfergateway.storage.pool.PoolStorage;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * The SHA-256 of each object, computed as its bytes pass the metering and kept in the
 * ledger (SQLite here) with the commit, on local disk, on S3 (S3Proxy, bodies of
 * several parts) and on a pool of two copies over three disks: exact against the JDK's digest of the bytes sent, moved by renames,
 * forgotten by deletes and appends; other digests computed by reading without counting a
 * download; announced digests checked before the commit.
 */
class DigestsTest {
    private static final int PART = 5 * 1024 * 1024;

    @TempDir
    Path dir;

    private JdbcLedger ledger;
    private TransferMeter meter;
    private Storage backend;
    private UserFiles files;
    private String bucket;
    private final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();

    private void open(String kind) throws IOException {
        ledger = JdbcLedger.open("jdbc:sqlite:" + dir.resolve("ledger.db"), Clock.systemUTC());
        meter = new TransferMeter(ledger);
        if (kind.equals("local")) {
            backend = new LocalStorage("store", Files.createDirectories(dir.resolve("files")));
        } else if (kind.equals("pool")) {
            // Two copies of each object over three disks: the digest is the pool's object's, once.
            meter.declarePools(List.of("store"));
            Map<String, Storage> members = new LinkedHashMap<>();
            List<Member> config = new ArrayList<>();
            for (String m : List.of("m1", "m2", "m3")) {
                members.put(m, new LocalStorage(m, Files.createDirectories(dir.resolve(m))));
                config.add(new Member(m, 1, 2));
            }
            backend = new PoolStorage("store", config, members, PlacementPolicy.of("round-robin"), 2,
                    meter.placements(), b -> meter.storedOf(b).bytes());
        } else {
            bucket = "d-" + UUID.randomUUID().toString().substring(0, 12);
            s3.createBucket(bucket);
            S3BackendConfig cfg = s3.backend("store", bucket, "gw/");
            MemoryBudget budget = new MemoryBudget(4L * PART);
            backend = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)),
                    budget);
        }
        files = new UserFiles(backend, "alice", "/alice", Protocol.of("test"), meter);
    }

    @AfterEach
    void close() throws IOException {
        if (backend != null) {
            backend.close();
        }
        if (ledger != null) {
            ledger.close();
        }
        if (bucket != null) {
            s3.deleteBucket(bucket);
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] jdk(String algorithm, byte[] content) throws Exception {
        return MessageDigest.getInstance(algorithm).digest(content);
    }

    private static String sha256(byte[] content) throws Exception {
        return HexFormat.of().formatHex(jdk("SHA-256", content));
    }

    /** Writes in 64 KiB pieces, as a network front end would. */
    private static void write(UserFiles.Inbound in, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += 64 * 1024) {
            in.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
    }

    private void put(String path, byte[] content, boolean sized) throws IOException {
        try (UserFiles.Inbound in = sized ? files.uploadOfSize(path, content.length) : files.upload(path)) {
            write(in, content);
            in.commit();
        }
    }

    private String recorded(String key) throws IOException {
        var d = ledger.digest("store", key);
        return d == null ? null : d.sha256();
    }

    private Counters transferred() {
        return meter.statistics(u -> true).transferred();
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3", "pool"})
    void theSha256OfEachUploadIsRecordedWithItsCommitAndFollowsTheObject(String kind) throws Exception {
        open(kind);
        byte[] big = random(2 * PART + 12345, 1); // three parts on S3
        byte[] small = random(1000, 2);
        put("/big.bin", big, false);
        put("/d/small.bin", small, true);
        assertEquals(sha256(big), recorded("alice/big.bin"));
        assertEquals(sha256(small), recorded("alice/d/small.bin"));
        assertArrayEquals(jdk("SHA-256", big), files.digest("/big.bin", DigestAlgorithm.SHA_256));
        assertArrayEquals(jdk("SHA-256", big), files.recordedSha256(files.stat("/big.bin")));

        // An overwrite replaces the digest; a rename moves it; a folder's rename moves those under it.
        byte[] other = random(3000, 3);
        put("/big.bin", other, true);
        assertEquals(sha256(other), recorded("alice/big.bin"));
        files.move("/big.bin", "/moved.bin");
        assertNull(recorded("alice/big.bin"));
        assertEquals(sha256(other), recorded("alice/moved.bin"));
        files.move("/moved.bin", "/d/small.bin"); // replaces small.bin and its digest
        assertEquals(sha256(other), recorded("alice/d/small.bin"));
        files.move("/d", "/e");
        assertNull(recorded("alice/d/small.bin"));
        assertEquals(sha256(other), recorded("alice/e/small.bin"));
        assertArrayEquals(jdk("SHA-256", other), files.digest("/e/small.bin", DigestAlgorithm.SHA_256));
        files.delete("/e/small.bin");
        assertNull(recorded("alice/e/small.bin"));
        assertEquals(new Counters(big.length + small.length + other.length, 0, 3, 0, 0, 0), transferred());
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3", "pool"})
    void otherDigestsAreComputedByReadingWithoutCountingADownload(String kind) throws Exception {
        open(kind);
        byte[] content = random(PART + 777, 4);
        put("/a.bin", content, true);
        Counters before = transferred();
        assertArrayEquals(jdk("SHA-1", content), files.digest("/a.bin", DigestAlgorithm.SHA_1));
        assertArrayEquals(jdk("MD5", content), files.digest("/a.bin", DigestAlgorithm.MD5));
        CRC32 crc = new CRC32();
        crc.update(content);
        assertEquals(String.format("%08x", crc.getValue()), DigestAlgorithm.hex(files.digest("/a.bin", DigestAlgorithm.CRC32)));
        assertEquals(before, transferred(), "computing digests is no transfer");
        assertEquals(0, meter.active().size());
        GatewayException missing = assertThrows(GatewayException.class, () -> files.digest("/none.bin", DigestAlgorithm.MD5));
        assertEquals(ErrorCode.NOT_FOUND, missing.code());
        files.makeFolder("/dir");
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class,
                () -> files.digest("/dir", DigestAlgorithm.SHA_256)).code());
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3"})
    void anAppendForgetsTheDigestWhichIsThenComputedOnDemand(String kind) throws Exception {
        open(kind);
        byte[] first = random(4000, 5);
        byte[] more = random(2500, 6);
        put("/log.txt", first, true);
        try (UserFiles.Inbound in = files.upload("/log.txt", first.length)) {
            write(in, more);
            in.commit();
        }
        byte[] whole = new byte[first.length + more.length];
        System.arraycopy(first, 0, whole, 0, first.length);
        System.arraycopy(more, 0, whole, first.length, more.length);
        assertNull(recorded("alice/log.txt"), "the kept bytes did not pass the metering");
        assertNull(files.recordedSha256(files.stat("/log.txt")));
        assertArrayEquals(jdk("SHA-256", whole), files.digest("/log.txt", DigestAlgorithm.SHA_256));
        assertEquals(new Counters(first.length + more.length, 0, 2, 0, 0, 0), transferred());
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3", "pool"})
    void aBodyUnlikeItsAnnouncedDigestIsNotStoredAndFailsOnce(String kind) throws Exception {
        open(kind);
        byte[] old = random(100, 7);
        put("/a.bin", old, true);
        byte[] content = random(PART + 10, 8);
        try (UserFiles.Inbound in = files.uploadOfSize("/a.bin", content.length)) {
            in.expectDigest(DigestAlgorithm.MD5, jdk("MD5", content));
            in.expectDigest(DigestAlgorithm.SHA_512, jdk("SHA-512", random(10, 9)));
            write(in, content);
            assertEquals(ErrorCode.DIGEST_MISMATCH, assertThrows(GatewayException.class, in::commit).code());
        }
        try (InputStream in = files.download("/a.bin", 0, -1)) {
            assertArrayEquals(old, in.readAllBytes(), "the file replaced stays as it was");
        }
        assertEquals(sha256(old), recorded("alice/a.bin"));
        assertEquals(new Counters(old.length + content.length, old.length, 1, 1, 1, 0), transferred());
        assertEquals(new StoredTotals(old.length, 1), meter.statistics(u -> true).stored());

        try (UserFiles.Inbound in = files.uploadOfSize("/b.bin", content.length)) {
            in.expectDigest(DigestAlgorithm.MD5, jdk("MD5", content));
            in.expectDigest(DigestAlgorithm.SHA_256, jdk("SHA-256", content));
            write(in, content);
            in.commit();
        }
        assertEquals(sha256(content), recorded("alice/b.bin"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local"})
    void aRecordedDigestOfAnotherSizeThanTheFileIsNotBelieved(String kind) throws Exception {
        open(kind);
        put("/a.bin", random(100, 10), true);
        byte[] behindTheBack = random(50, 11);
        Files.write(dir.resolve("files/alice/a.bin"), behindTheBack);
        assertNull(files.recordedSha256(files.stat("/a.bin")));
        assertArrayEquals(jdk("SHA-256", behindTheBack), files.digest("/a.bin", DigestAlgorithm.SHA_256));
    }
}
