package org.transfergateway.storage.gcs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * The storage contract on the GCS backend against {@link FakeGcsServer}: one bucket for the
 * class, a prefix of its own per test, 1 MiB chunks (so that {@link #LARGE} bodies go
 * through a resumable session of seven chunks), list pages of 100 entries (the thousand-key listing takes many), and rewrites
 * of 1 MiB a call, so that paging and rewrite tokens are exercised.
 */
class GcsStorageContractTest extends StorageContractTest {
    static final int CHUNK = MIB;
    static final String BUCKET = "contract";

    private static FakeGcsServer fake;
    private static final AtomicInteger tests = new AtomicInteger();
    private String prefix;

    @BeforeAll
    static void startFake() throws IOException {
        fake = FakeGcsServer.start();
        fake.createBucket(BUCKET);
        fake.pageSize(100);
        fake.rewriteBytesPerCall(MIB);
    }

    /** Logs the shapes of the requests the client library and backend sent: what the fake must serve. */
    @AfterAll
    static void stopFake() {
        java.util.Set<String> shapes = new java.util.TreeSet<>();
        for (String r : fake.requests()) {
            String[] parts = r.split("\\?", 2);
            String path = parts[0].replaceAll("/o/[^/]+", "/o/{object}").replaceAll("/b/[^/]+", "/b/{bucket}");
            String params = parts.length < 2 ? "" : "?" + String.join("&", java.util.Arrays.stream(parts[1].split("&"))
                    .map(p -> p.replaceAll("=.*", "")).sorted().toList());
            shapes.add(path + params);
        }
        org.slf4j.LoggerFactory.getLogger(GcsStorageContractTest.class).info("requests seen by the fake:\n  {}",
                String.join("\n  ", shapes));
        fake.close();
    }

    static GcsBackendConfig config(FakeGcsServer fake, String bucket, String prefix) {
        return new GcsBackendConfig("contract", bucket, prefix, "test-project", null, fake.endpoint(), CHUNK);
    }

    @Override
    protected Storage newStorage() throws IOException {
        prefix = "gw/t" + tests.incrementAndGet() + "/";
        GcsBackendConfig cfg = config(fake, BUCKET, prefix);
        MemoryBudget budget = new MemoryBudget(4L * CHUNK);
        return GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 * MIB, 2, Duration.ofDays(1)), budget);
    }

    @Override
    protected void seed(String key, byte[] content) {
        fake.put(BUCKET, prefix + key, content);
    }

    /** No resumable session under the test's prefix is left neither completed nor cancelled. */
    @Override
    protected void assertNoUploadLeftOpen() {
        assertEquals(List.of(), fake.openSessions(prefix));
    }

    /** The fake refused nothing: every request the backend and client sent is one it knows. */
    @AfterEach
    void nothingRefused() {
        assertEquals(List.of(), fake.takeRejected());
    }
}
