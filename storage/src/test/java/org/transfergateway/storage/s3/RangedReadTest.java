package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Long S3 reads in parallel ranges ({@link RangedRead}) against S3Proxy: exact bytes
 * whatever room the memory budget has (none: one range after another), every buffer
 * back in the budget after a read to the end and after one closed early, and an object
 * replaced during a read fails the read instead of mixing two objects.
 */
class RangedReadTest {
    private static final int RANGE = RangedRead.RANGE;
    private static final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private static String bucket;
    private static byte[] stored;

    @BeforeAll
    static void seed() {
        bucket = "r-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
        stored = new byte[5 * RANGE + 3];
        new Random(5).nextBytes(stored);
        s3.client().putObject(p -> p.bucket(bucket).key("big.bin"), RequestBody.fromBytes(stored));
    }

    @AfterAll
    static void drop() {
        s3.deleteBucket(bucket);
    }

    private static S3Storage open(MemoryBudget budget) throws IOException {
        S3BackendConfig cfg = s3.backend("ranged", bucket, "");
        return S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), RANGE, 2, Duration.ofDays(1)), budget);
    }

    /** 64 MiB: three ranges ahead; 24 MiB: one; 8 MiB: none (each must leave half of the budget free). */
    @ParameterizedTest(name = "budget {0} MiB")
    @ValueSource(ints = {64, 24, 8})
    void everyByteInOrderWhateverRoomTheBudgetHas(int budgetMib) throws Exception {
        MemoryBudget budget = new MemoryBudget(budgetMib * 1024L * 1024);
        S3Storage storage = open(budget);
        try {
            for (long[] r : new long[][] {{0, stored.length}, {RANGE - 1, 2L * RANGE + 2}, {1, stored.length - 1}}) {
                try (InputStream in = storage.read("big.bin", r[0], r[1])) {
                    assertInstanceOf(RangedRead.class, in);
                    byte[] got = readInOddPieces(in);
                    assertArrayEquals(Arrays.copyOfRange(stored, (int) r[0], (int) (r[0] + r[1])), got,
                            "bytes " + r[0] + " + " + r[1]);
                }
                assertEquals(0, budget.inUseBytes());
            }
        } finally {
            storage.close();
        }
    }

    private static byte[] readInOddPieces(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[100_003];
        for (int n; (n = in.read(buf)) >= 0; ) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    @Test
    void aReadClosedEarlyGivesEveryBufferBack() throws Exception {
        MemoryBudget budget = new MemoryBudget(64L * 1024 * 1024);
        S3Storage storage = open(budget);
        try {
            InputStream in = storage.read("big.bin", 0, stored.length);
            byte[] first = in.readNBytes(RANGE + 5);
            assertArrayEquals(Arrays.copyOf(stored, RANGE + 5), first);
            assertTrue(budget.inUseBytes() > 0, "no range was read ahead");
            in.close();
            long deadline = System.currentTimeMillis() + 10_000;
            while (budget.inUseBytes() > 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, budget.inUseBytes());
        } finally {
            storage.close();
        }
    }

    @Test
    void anObjectReplacedDuringTheReadFailsItInsteadOfMixingTwoObjects() throws Exception {
        String key = "replaced.bin";
        byte[] before = new byte[4 * RANGE];
        new Random(6).nextBytes(before);
        s3.client().putObject(p -> p.bucket(bucket).key(key), RequestBody.fromBytes(before));
        // No room for read-ahead: the ranges after the first are asked for one by one, after the replacement.
        MemoryBudget budget = new MemoryBudget(RANGE);
        S3Storage storage = open(budget);
        try (InputStream in = storage.read(key, 0, before.length)) {
            assertArrayEquals(Arrays.copyOf(before, RANGE), in.readNBytes(RANGE));
            byte[] after = new byte[4 * RANGE];
            new Random(7).nextBytes(after);
            s3.client().putObject(p -> p.bucket(bucket).key(key), RequestBody.fromBytes(after));
            assertThrows(IOException.class, () -> in.readNBytes(RANGE));
        } finally {
            storage.close();
        }
    }
}
