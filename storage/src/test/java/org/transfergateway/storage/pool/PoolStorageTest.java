package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * A pool of three real local backends below a metering link: where the policies put
 * objects, what the counts say, and how the pool gets around a member that fails.
 */
class PoolStorageTest {
    @TempDir
    Path dir;

    private TransferMeter meter;
    private PoolStorage pool;
    private Storage chain;

    private void open(String policy, int replicas, Map<String, Integer> weights) throws IOException {
        meter = TransferMeter.inMemory();
        meter.declarePools(List.of("pool"));
        Map<String, Storage> storages = new LinkedHashMap<>();
        List<Member> members = new ArrayList<>();
        for (String n : List.of("a", "b", "c")) {
            storages.put(n, new LocalStorage(n, dir.resolve(n)));
            members.add(new Member(n, weights.getOrDefault(n, 1), 2));
        }
        pool = new PoolStorage("pool", members, storages, PlacementPolicy.of(policy), replicas,
                meter.placements(), b -> meter.storedOf(b).bytes());
        chain = new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
    }

    private ObjectInfo put(String key, String content) throws IOException {
        try (Upload u = chain.create(key)) {
            u.write(ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
            return u.commit();
        }
    }

    private List<String> where(String key) throws IOException {
        return meter.placements().copies("pool", key).stream().map(Placement::backend).sorted().toList();
    }

    private boolean onDisk(String member, String key) {
        return Files.exists(dir.resolve(member).resolve(key));
    }

    @Test
    void weightedThreeToOneToOnePlacesExactlySixtyTwentyTwentyAndCountsEachBackend() throws IOException {
        open("weighted", 1, Map.of("a", 3));
        for (int i = 0; i < 1000; i++) {
            put("k" + i, "x");
        }
        // Smooth weighted round robin is exact, not statistical: tolerance 0.
        assertEquals(new StoredTotals(600, 600), meter.storedOf("a"));
        assertEquals(new StoredTotals(200, 200), meter.storedOf("b"));
        assertEquals(new StoredTotals(200, 200), meter.storedOf("c"));
        var stats = meter.statistics(u -> true);
        assertEquals(new StoredTotals(1000, 1000), stats.stored());
        assertEquals(new StoredTotals(1000, 1000), stats.storedByUser().get("u"));
        assertFalse(stats.storedByBackend().containsKey("pool"), "a pool shows as its members");
    }

    @Test
    void twoCopiesAreCountedPerMemberAndOnceForTheUser() throws IOException {
        open("round-robin", 2, Map.of());
        for (int i = 0; i < 30; i++) {
            put("dir/k" + i, "0123456789");
        }
        var stats = meter.statistics(u -> true);
        assertEquals(new StoredTotals(300, 30), stats.storedByUser().get("u"));
        long copies = stats.storedByBackend().values().stream().mapToLong(StoredTotals::bytes).sum();
        assertEquals(600, copies);
        for (String m : List.of("a", "b", "c")) {
            assertEquals(new StoredTotals(200, 20), stats.storedByBackend().get(m), m);
        }
        assertEquals(30, chain.list("dir").size());
        assertTrue(chain.delete("dir/k0"));
        assertEquals(List.of(), where("dir/k0"));
        for (String m : List.of("a", "b", "c")) {
            assertFalse(onDisk(m, "dir/k0"), m);
        }
        assertEquals(new StoredTotals(290, 29), meter.statistics(u -> true).storedByUser().get("u"));
    }

    @Test
    void anOverwriteThatLandsElsewhereRemovesTheOldCopy() throws IOException {
        open("round-robin", 1, Map.of());
        put("f", "first");
        List<String> first = where("f");
        put("f", "second!");
        List<String> second = where("f");
        assertEquals(1, second.size());
        assertFalse(first.equals(second), "round robin moved on");
        assertFalse(onDisk(first.get(0), "f"), "the old copy is gone");
        assertEquals(new StoredTotals(7, 1), meter.storedOfUser("u"));
        assertEquals(StoredTotals.ZERO, meter.storedOf(first.get(0)));
        try (InputStream in = chain.read("f", 0, 7)) {
            assertArrayEquals("second!".getBytes(StandardCharsets.UTF_8), in.readAllBytes());
        }
    }

    @Test
    void aMemberThatRefusesUploadsIsSkippedAndCountedAsFailing() throws IOException {
        open("failover", 1, Map.of());
        // Member a cannot write: where its uploads' temporary files go is a file, not a folder.
        Map<String, Storage> storages = new LinkedHashMap<>();
        storages.put("a", new LocalStorage("a", dir.resolve("a2")));
        storages.put("b", new LocalStorage("b", dir.resolve("b")));
        Path temp = dir.resolve("a2").resolve(LocalStorage.TEMP_FOLDER);
        Files.delete(temp);
        Files.writeString(temp, "not a folder");
        List<Member> members = List.of(new Member("a", 1, 2), new Member("b", 1, 2));
        pool = new PoolStorage("pool", members, storages, PlacementPolicy.of("failover"), 1,
                meter.placements(), b -> 0);
        chain = new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
        put("x", "1");
        put("y", "2");
        assertEquals(List.of("b"), where("x"));
        assertEquals(List.of("b"), where("y"));
        assertEquals(2, members.get(0).errors(), "each refusal counts against the member");
    }

    @Test
    void aReadFallsBackToTheOtherCopyWhenOneIsGone() throws IOException {
        open("round-robin", 2, Map.of());
        put("r", "replicated");
        List<String> copies = where("r");
        assertEquals(2, copies.size());
        Files.delete(dir.resolve(copies.get(0)).resolve("r"));
        try (InputStream in = chain.read("r", 0, 10)) {
            assertArrayEquals("replicated".getBytes(StandardCharsets.UTF_8), in.readAllBytes());
        }
    }

    @Test
    void aRenameMovesEveryCopyAndReplacesTheTargetsCopies() throws IOException {
        open("round-robin", 2, Map.of());
        put("from", "abc");
        put("to", "replaced");
        chain.move("from", "to");
        assertEquals(List.of(), where("from"));
        assertEquals(2, where("to").size());
        for (String m : List.of("a", "b", "c")) {
            assertFalse(onDisk(m, "from"), m);
            assertEquals(where("to").contains(m), onDisk(m, "to"), m);
        }
        assertEquals(new StoredTotals(3, 1), meter.storedOfUser("u"));
        long copies = meter.statistics(u -> true).storedByBackend().values().stream().mapToLong(StoredTotals::bytes).sum();
        assertEquals(6, copies);
    }

    @Test
    void anUnhealthyMemberTakesNoUploadsUntilAProbeSucceeds() throws IOException {
        open("round-robin", 1, Map.of());
        Member b = pool.members().get(1);
        b.probed(false);
        for (int i = 0; i < 10; i++) {
            put("u" + i, "x");
        }
        assertEquals(StoredTotals.ZERO, meter.storedOf("b"));
        assertEquals(new StoredTotals(10, 10), meter.storedOfUser("u"));
        b.probed(true);
        for (int i = 10; i < 13; i++) {
            put("u" + i, "x");
        }
        assertEquals(new StoredTotals(1, 1), meter.storedOf("b"));
    }

    @Test
    void aFolderRenameMovesEveryCopyAndTheLedgerFollows() throws IOException {
        open("round-robin", 2, Map.of());
        put("d/x", "12345");
        put("d/sub/y", "678");
        chain.makeFolder("d/empty");
        var before = meter.statistics(u -> true);
        chain.move("d", "e");
        assertEquals(List.of(), where("d/x"));
        assertEquals(List.of(), where("d/sub/y"));
        assertEquals(2, where("e/x").size());
        assertEquals(2, where("e/sub/y").size());
        for (String m : List.of("a", "b", "c")) {
            assertFalse(Files.exists(dir.resolve(m).resolve("d")), m);
            assertEquals(where("e/x").contains(m), onDisk(m, "e/x"), m);
            assertEquals(where("e/sub/y").contains(m), onDisk(m, "e/sub/y"), m);
        }
        assertEquals(List.of("empty", "sub", "x"), chain.list("e").stream().map(ObjectInfo::name).toList());
        assertEquals(before.storedByBackend(), meter.statistics(u -> true).storedByBackend());
        assertEquals(new StoredTotals(8, 2), meter.storedOfUser("u"));
        try (InputStream in = chain.read("e/sub/y", 0, 3)) {
            assertArrayEquals("678".getBytes(StandardCharsets.UTF_8), in.readAllBytes());
        }
    }

    /** A real local backend whose uploads fail at their commit, as a service that dies then would. */
    private static final class FailingCommits extends org.transfergateway.storage.chain.ForwardingStorage {
        FailingCommits(Storage next) {
            super(next);
        }

        @Override
        public Upload create(String key) throws IOException {
            Upload u = next.create(key);
            return new org.transfergateway.storage.chain.ForwardingUpload(u) {
                @Override
                public ObjectInfo commit() throws IOException {
                    next.abort();
                    throw new IOException("connection reset by the storage");
                }
            };
        }
    }

    @Test
    void aMemberThatFailsAtTheCommitOfASmallUploadGivesWayAndTheClientSeesNothing() throws IOException {
        meter = TransferMeter.inMemory();
        Map<String, Storage> storages = new LinkedHashMap<>();
        storages.put("a", new FailingCommits(new LocalStorage("a", dir.resolve("a"))));
        storages.put("b", new LocalStorage("b", dir.resolve("b")));
        storages.put("c", new LocalStorage("c", dir.resolve("c")));
        List<Member> members = List.of(new Member("a", 1, 3), new Member("b", 1, 3), new Member("c", 1, 3));
        pool = new PoolStorage("pool", members, storages, PlacementPolicy.of("failover"), 2,
                meter.placements(), b -> 0);
        chain = new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
        byte[] body = new byte[PoolUpload.REPLAY_WINDOW];
        new java.util.Random(7).nextBytes(body);
        try (Upload u = chain.create("small")) {
            for (int off = 0; off < body.length; off += 65536) {
                u.write(ByteBuffer.wrap(body, off, 65536));
            }
            u.commit();
        }
        assertEquals(List.of("b", "c"), where("small"));
        assertArrayEquals(body, Files.readAllBytes(dir.resolve("b/small")));
        assertArrayEquals(body, Files.readAllBytes(dir.resolve("c/small")));
        assertFalse(onDisk("a", "small"));
        assertEquals(1, members.get(0).errors());
        assertEquals(0, members.get(1).outstandingBytes() + members.get(2).outstandingBytes() + members.get(0).outstandingBytes());

        // One byte past the window: the bytes are gone, so the failure reaches the client and nothing stays.
        byte[] big = new byte[PoolUpload.REPLAY_WINDOW + 1];
        Upload u = chain.create("big");
        u.write(ByteBuffer.wrap(big));
        assertEquals("connection reset by the storage",
                org.junit.jupiter.api.Assertions.assertThrows(IOException.class, u::commit).getMessage());
        assertEquals(List.of(), where("big"));
        for (String m : List.of("a", "b", "c")) {
            assertFalse(onDisk(m, "big"), m);
        }
        assertEquals(new StoredTotals(body.length, 1), meter.storedOfUser("u"));
    }
}
