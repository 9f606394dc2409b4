package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.chain.ForwardingStorage;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The storage contract on a pool of three local backends keeping two copies of each
 * object with async replication, its {@link Replicator} copying while the contract's
 * uploads, overwrites, renames and deletes run. Once the replicator has caught up, every
 * copy the ledger names is on its member's disk, and nothing else.
 */
class AsyncPoolStorageContractTest extends StorageContractTest {
    private static final List<String> NAMES = List.of("a", "b", "c");

    @TempDir
    Path dir;

    private TransferMeter meter;
    private Replicator replicator;

    /** A pool's stats and listings come from the ledger, which keeps milliseconds. */
    @Override
    protected java.time.Instant keptTime(java.time.Instant set) {
        return java.time.Instant.ofEpochMilli(set.toEpochMilli());
    }

    @Override
    protected Storage newStorage() throws IOException {
        meter = TransferMeter.inMemory();
        Map<String, Storage> storages = new LinkedHashMap<>();
        List<Member> members = new ArrayList<>();
        for (String n : NAMES) {
            storages.put(n, new LocalStorage(n, dir.resolve(n)));
            members.add(new Member(n, 1));
        }
        PoolStorage pool = new PoolStorage("pool", members, storages, PlacementPolicy.of("round-robin"), 2, true,
                meter.placements(), b -> meter.storedOf(b).bytes());
        replicator = new Replicator(List.of(pool), meter, new Replicator.Settings(2, Duration.ofMillis(50),
                Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofMillis(20)));
        replicator.start();
        return new ForwardingStorage(new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k)) {
            @Override
            public void close() throws IOException {
                replicator.close();
                super.close();
            }
        };
    }

    @Override
    protected void assertNoUploadLeftOpen() throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!meter.copyQueue().pendingTotals().isEmpty() || replicator.working() > 0) {
            assertTrue(System.nanoTime() < deadline, "the replicator has not caught up");
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
        }
        List<String> named = new ArrayList<>();
        for (Placement p : meter.placements().under("pool", "", null, 100_000)) {
            named.add(p.backend() + "/" + p.key());
        }
        List<String> onDisk = new ArrayList<>();
        for (String n : NAMES) {
            try (Stream<Path> s = Files.list(dir.resolve(n).resolve(LocalStorage.TEMP_FOLDER))) {
                assertEquals(List.of(), s.toList(), n);
            }
            Path root = dir.resolve(n);
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(Files::isRegularFile).map(root::relativize)
                        .filter(p -> !p.startsWith(LocalStorage.TEMP_FOLDER))
                        .forEach(p -> onDisk.add(n + "/" + p.toString().replace('\\', '/')));
            }
        }
        named.sort(null);
        onDisk.sort(null);
        assertEquals(named, onDisk, "the copies on disk are those the ledger names");
        for (Placement p : meter.placements().under("pool", "", null, 100_000)) {
            assertEquals(2, meter.placements().copies("pool", p.key()).size(), p.key());
        }
    }
}
