package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The storage contract on a pool of three local backends keeping two copies of each
 * object, below the metering link that records where the copies live, as a user's chain
 * has it: the pool alone keeps no record.
 */
class PoolStorageContractTest extends StorageContractTest {
    private static final List<String> NAMES = List.of("a", "b", "c");

    @TempDir
    Path dir;

    /** A pool's stats and listings come from the ledger, which keeps milliseconds. */
    @Override
    protected java.time.Instant keptTime(java.time.Instant set) {
        return java.time.Instant.ofEpochMilli(set.toEpochMilli());
    }

    @Override
    protected Storage newStorage() throws IOException {
        TransferMeter meter = TransferMeter.inMemory();
        Map<String, Storage> storages = new LinkedHashMap<>();
        List<Member> members = new ArrayList<>();
        for (String n : NAMES) {
            storages.put(n, new LocalStorage(n, dir.resolve(n)));
            members.add(new Member(n, 1));
        }
        PoolStorage pool = new PoolStorage("pool", members, storages, PlacementPolicy.of("round-robin"), 2,
                meter.placements(), b -> meter.storedOf(b).bytes());
        return new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
    }

    @Override
    protected void assertNoUploadLeftOpen() throws IOException {
        for (String n : NAMES) {
            try (Stream<Path> s = Files.list(dir.resolve(n).resolve(LocalStorage.TEMP_FOLDER))) {
                assertEquals(List.of(), s.toList(), n);
            }
        }
    }
}
