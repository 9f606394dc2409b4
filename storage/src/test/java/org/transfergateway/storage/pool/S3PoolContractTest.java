package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * The storage contract on a pool of three S3 buckets (the shared S3Proxy) keeping two
 * copies of each object, with parts of S3's smallest size so that large bodies go in
 * multipart uploads on both members.
 */
class S3PoolContractTest extends StorageContractTest {
    private static final int PART = 5 * MIB;
    private static final S3ProxyFixture s3 = S3ProxyFixture.shared();
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final List<String> BUCKETS = List.of("pool-a-" + RUN, "pool-b-" + RUN, "pool-c-" + RUN);
    private static final AtomicInteger tests = new AtomicInteger();
    private String prefix;
    private final List<Storage> members = new ArrayList<>();

    @BeforeAll
    static void createBuckets() {
        BUCKETS.forEach(s3::createBucket);
    }

    @AfterAll
    static void dropBuckets() {
        BUCKETS.forEach(s3::deleteBucket);
    }

    /** A pool's stats and listings come from the ledger, which keeps milliseconds. */
    @Override
    protected java.time.Instant keptTime(java.time.Instant set) {
        return java.time.Instant.ofEpochMilli(set.toEpochMilli());
    }

    @Override
    protected Storage newStorage() throws IOException {
        prefix = "gw/t" + tests.incrementAndGet() + "/";
        TransferMeter meter = TransferMeter.inMemory();
        MemoryBudget budget = new MemoryBudget(8L * PART);
        Map<String, Storage> storages = new LinkedHashMap<>();
        List<Member> pool = new ArrayList<>();
        for (String bucket : BUCKETS) {
            S3BackendConfig cfg = s3.backend(bucket, bucket, prefix);
            Storage s = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2,
                    Duration.ofDays(1)), budget);
            members.add(s);
            storages.put(bucket, s);
            pool.add(new Member(bucket, 1));
        }
        PoolStorage p = new PoolStorage("pool", pool, storages, PlacementPolicy.of("hash"), 2,
                meter.placements(), b -> meter.storedOf(b).bytes());
        return new Metering(p, "u", Protocol.of("test"), meter, k -> "/" + k);
    }

    @Override
    protected void closeMembers() throws IOException {
        for (Storage s : members) {
            s.close();
        }
        members.clear();
    }

    /** No multipart upload is open under the test's prefix in any bucket. */
    @Override
    protected void assertNoUploadLeftOpen() {
        for (String bucket : BUCKETS) {
            List<String> open = s3.client().listMultipartUploads(b -> b.bucket(bucket).prefix(prefix)).uploads().stream()
                    .map(MultipartUpload::key).toList();
            assertEquals(List.of(), open, bucket);
        }
    }
}
