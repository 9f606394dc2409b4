package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.chain.ForwardingStorage;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * Async copies between buckets of one S3 service (the shared S3Proxy) are made by the
 * service: the target is never written through the gateway, yet ends with every byte.
 */
class S3ReplicationTest {
    private static final S3ProxyFixture s3 = S3ProxyFixture.shared();
    private static final Replicator.Settings FAST = new Replicator.Settings(2, Duration.ofMillis(50),
            Duration.ofMillis(400), Duration.ofMinutes(1), Duration.ofMillis(20));

    private final List<Storage> opened = new ArrayList<>();
    private final List<String> buckets = new ArrayList<>();
    private Replicator replicator;

    /** A member whose uploads through the gateway are counted. */
    private static final class CountingWrites extends ForwardingStorage {
        final AtomicInteger creates = new AtomicInteger();

        CountingWrites(Storage next) {
            super(next);
        }

        @Override
        public Upload create(String key) throws IOException {
            creates.incrementAndGet();
            return next.create(key);
        }

        @Override
        public Upload create(String key, long size) throws IOException {
            creates.incrementAndGet();
            return next.create(key, size);
        }
    }

    @AfterEach
    void close() throws IOException {
        if (replicator != null) {
            replicator.close();
        }
        for (Storage s : opened) {
            s.close();
        }
        buckets.forEach(s3::deleteBucket);
    }

    private S3Storage open(String name) throws IOException {
        String bucket = name + "-" + UUID.randomUUID().toString().substring(0, 8);
        s3.createBucket(bucket);
        buckets.add(bucket);
        S3BackendConfig cfg = s3.backend(name, bucket, "p/");
        MemoryBudget budget = new MemoryBudget(32L * 1024 * 1024);
        S3Storage s = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5L * 1024 * 1024, 2,
                Duration.ofDays(1)), budget);
        opened.add(s);
        return s;
    }

    @Test
    void theSecondCopyIsMadeByTheServiceNotStreamedThroughTheGateway() throws Exception {
        TransferMeter meter = TransferMeter.inMemory();
        S3Storage a = open("repl-a");
        CountingWrites b = new CountingWrites(open("repl-b"));
        Map<String, Storage> storages = new LinkedHashMap<>();
        storages.put("a", a);
        storages.put("b", b);
        List<Member> members = List.of(new Member("a", 1), new Member("b", 1));
        PoolStorage pool = new PoolStorage("pool", members, storages, PlacementPolicy.of("failover"), 2, true,
                meter.placements(), x -> meter.storedOf(x).bytes());
        Storage chain = new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
        replicator = new Replicator(List.of(pool), meter, FAST);
        replicator.start();

        byte[] body = new byte[2 * 1024 * 1024 + 5];
        new Random(11).nextBytes(body);
        for (int i = 0; i < 5; i++) {
            try (Upload u = chain.create("f" + i)) {
                u.write(ByteBuffer.wrap(body));
                u.commit();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (meter.copyQueue().pendingTotals().values().stream().mapToLong(p -> p.copies()).sum() > 0
                || replicator.working() > 0) {
            assertTrue(System.nanoTime() < deadline, "the copies were not made in time");
            Thread.sleep(20);
        }
        assertEquals(0, b.creates.get(), "no upload went through the gateway to the second member");
        for (int i = 0; i < 5; i++) {
            assertEquals(List.of("a", "b"), meter.placements().copies("pool", "f" + i).stream()
                    .map(Placement::backend).sorted().toList());
            try (var in = b.read("f" + i, 0, -1)) {
                assertArrayEquals(body, in.readAllBytes());
            }
        }
        assertEquals(new StoredTotals(5L * body.length, 5), meter.storedOf("b"));
        assertEquals(new StoredTotals(5L * body.length, 5), meter.storedOfUser("u"));
    }
}
