package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.chain.ForwardingStorage;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.CopyTask;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * A pool of real local backends with {@code replicas: 2} and async replication below a
 * metering link: an upload returns with one copy, the {@link Replicator} makes the other;
 * what the disks hold, what the ledger names and what the meter counts agree exactly, also
 * when the object is overwritten, deleted or renamed while its copy is being made, and when
 * the target fails.
 */
class ReplicatorTest {
    private static final Replicator.Settings FAST = new Replicator.Settings(2, Duration.ofMillis(50),
            Duration.ofMillis(400), Duration.ofMinutes(1), Duration.ofMillis(20));

    @TempDir
    Path dir;

    private TransferMeter meter;
    private List<Member> members;
    private PoolStorage pool;
    private Storage chain;
    private Replicator replicator;

    /** Member names to their backends; a gate or failing folder can be put around each. */
    private void open(String policy, List<String> names, Map<String, Storage> wrapped) throws IOException {
        meter = TransferMeter.inMemory();
        meter.declarePools(List.of("pool"));
        Map<String, Storage> storages = new LinkedHashMap<>();
        members = new ArrayList<>();
        for (String n : names) {
            storages.put(n, wrapped.containsKey(n) ? wrapped.get(n) : new LocalStorage(n, dir.resolve(n)));
            members.add(new Member(n, 1, 2));
        }
        pool = new PoolStorage("pool", members, storages, PlacementPolicy.of(policy), 2, true,
                meter.placements(), b -> meter.storedOf(b).bytes());
        chain = new Metering(pool, "u", Protocol.of("test"), meter, k -> "/" + k);
        replicator = new Replicator(List.of(pool), meter, FAST);
    }

    private void open(String policy) throws IOException {
        open(policy, List.of("a", "b", "c"), Map.of());
    }

    @AfterEach
    void stop() {
        if (replicator != null) {
            replicator.close();
        }
    }

    private void put(String key, byte[] content) throws IOException {
        try (Upload u = chain.create(key)) {
            u.write(ByteBuffer.wrap(content));
            u.commit();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private List<String> where(String key) throws IOException {
        return meter.placements().copies("pool", key).stream().map(Placement::backend).sorted().toList();
    }

    private long pending() throws IOException {
        return meter.copyQueue().pendingTotals().values().stream().mapToLong(p -> p.copies()).sum();
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            Thread.sleep(10);
        }
    }

    private void awaitReplicated() throws InterruptedException {
        await("nothing is pending", () -> {
            try {
                return pending() == 0 && replicator.working() == 0;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /**
     * Every file on the members' disks (their temporary folders empty), as member -> key ->
     * content, is exactly a copy the ledger names, of the size it names, and each member's
     * counted totals are the sums of its files.
     */
    private Map<String, Map<String, byte[]>> assertDisksMatchLedger() throws IOException {
        Map<String, Map<String, byte[]>> disks = new TreeMap<>();
        for (Member m : members) {
            Path root = dir.resolve(m.name());
            Map<String, byte[]> files = new TreeMap<>();
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : (Iterable<Path>) walk::iterator) {
                    Path rel = root.relativize(p);
                    if (Files.isRegularFile(p) && !rel.startsWith(LocalStorage.TEMP_FOLDER)) {
                        files.put(rel.toString().replace('\\', '/'), Files.readAllBytes(p));
                    }
                }
            }
            Path tempFolder = root.resolve(LocalStorage.TEMP_FOLDER);
            if (Files.isDirectory(tempFolder)) { // else a file that makes the member fail
                try (Stream<Path> temp = Files.list(tempFolder)) {
                    assertEquals(List.of(), temp.toList(), m.name() + ": no upload left open");
                }
            }
            disks.put(m.name(), files);
        }
        Map<String, Map<String, Long>> named = new TreeMap<>();
        for (Member m : members) {
            named.put(m.name(), new TreeMap<>());
        }
        for (Placement p : meter.placements().under("pool", "", null, 100_000)) {
            named.get(p.backend()).put(p.key(), p.size());
        }
        for (Member m : members) {
            Map<String, Long> sizes = new TreeMap<>();
            disks.get(m.name()).forEach((k, v) -> sizes.put(k, (long) v.length));
            assertEquals(named.get(m.name()), sizes, "the files on " + m.name() + " are the copies the ledger names");
            long bytes = sizes.values().stream().mapToLong(Long::longValue).sum();
            assertEquals(new StoredTotals(bytes, sizes.size()), meter.storedOf(m.name()), m.name());
        }
        return disks;
    }

    @Test
    void anUploadReturnsWithOneCopyAndTheReplicatorMakesTheSecond() throws Exception {
        open("round-robin");
        Map<String, byte[]> files = new HashMap<>();
        long logical = 0;
        for (int i = 0; i < 12; i++) {
            // Up to several chunks of the replicator, none a multiple of one.
            byte[] content = random(i * 37_000 + 1, i);
            files.put("dir/f" + i, content);
            put("dir/f" + i, content);
            logical += content.length;
        }
        for (String key : files.keySet()) {
            assertEquals(1, where(key).size(), key + " has one copy when the upload returns");
            List<CopyTask> tasks = meter.copyQueue().pendingCopies("pool", key);
            assertEquals(1, tasks.size());
            assertFalse(where(key).contains(tasks.get(0).target()), "the copy goes to another member");
        }
        assertEquals(12, pending());
        assertEquals(logical, meter.copyQueue().pendingTotals().get("pool").bytes());
        assertEquals(new StoredTotals(logical, 12), meter.storedOfUser("u"));
        assertDisksMatchLedger();

        replicator.start();
        awaitReplicated();
        Map<String, Map<String, byte[]>> disks = assertDisksMatchLedger();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            List<String> copies = where(f.getKey());
            assertEquals(2, copies.size(), f.getKey());
            for (String m : copies) {
                assertArrayEquals(f.getValue(), disks.get(m).get(f.getKey()), f.getKey() + " on " + m);
            }
        }
        assertEquals(new StoredTotals(logical, 12), meter.storedOfUser("u"), "copies add no logical bytes");
        long copies = meter.statistics(u -> true).storedByBackend().values().stream().mapToLong(StoredTotals::bytes).sum();
        assertEquals(2 * logical, copies);
        assertTrue(replicator.pending("pool").copies() >= 0);
        for (Member m : members) {
            assertEquals(0, m.outstandingBytes(), m.name());
        }
    }

    /**
     * A member whose reads of one key stop after the first chunk until released: the
     * replicator is then in the middle of that key's copy.
     */
    private static final class Gated extends ForwardingStorage {
        final CountDownLatch reading = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile String key;

        Gated(Storage next) {
            super(next);
        }

        @Override
        public InputStream read(String k, long offset, long length) throws IOException {
            InputStream in = next.read(k, offset, length);
            if (in == null || !k.equals(key)) {
                return in;
            }
            return new FilterInputStream(in) {
                private long read;

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (read > 0) {
                        reading.countDown();
                        try {
                            release.await(20, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            throw new java.io.InterruptedIOException();
                        }
                    }
                    int n = super.read(b, off, len);
                    read += Math.max(0, n);
                    return n;
                }
            };
        }
    }

    private interface Change {
        void apply(String key) throws IOException;
    }

    /**
     * Uploads {@code key} to member a (failover), lets the replicator read its first chunk,
     * applies {@code change} meanwhile, then lets the copy go on; returns once nothing is pending.
     */
    private void changeDuringCopy(String key, Change change) throws Exception {
        Gated a = (Gated) pool.storage("a");
        a.key = key;
        put(key, random(200_000, key.hashCode()));
        assertEquals(List.of("a"), where(key));
        replicator.wake();
        assertTrue(a.reading.await(20, TimeUnit.SECONDS), "the copy has started");
        change.apply(key);
        a.release.countDown();
        awaitReplicated();
    }

    private void openGated() throws IOException {
        open("failover", List.of("a", "b", "c"), Map.of("a", new Gated(new LocalStorage("a", dir.resolve("a")))));
        replicator.start();
    }

    @Test
    void anOverwriteDuringAPendingCopyLeavesNoStaleCopy() throws Exception {
        for (int i = 0; i < 5; i++) {
            openGated();
            byte[] last = random(70_000, i);
            // The overwrite lands on a again (failover) and queues its own copy, to b.
            changeDuringCopy("k" + i, key -> put(key, last));
            assertEquals(List.of("a", "b"), where("k" + i));
            Map<String, Map<String, byte[]>> disks = assertDisksMatchLedger();
            assertArrayEquals(last, disks.get("a").get("k" + i));
            assertArrayEquals(last, disks.get("b").get("k" + i), "the copy is of the new object");
            assertEquals(new StoredTotals(70_000, 1), meter.storedOfUser("u"));
            replicator.close();
            clean();
        }
    }

    @Test
    void anOverwriteOnAnotherMemberDuringAPendingCopyLeavesNoStaleCopy() throws Exception {
        for (int i = 0; i < 5; i++) {
            openGated();
            byte[] last = random(30_000, i);
            // a is down for the overwrite: it lands on b, and its copy goes to c.
            changeDuringCopy("k" + i, key -> {
                members.get(0).probed(false);
                put(key, last);
                members.get(0).probed(true);
            });
            assertEquals(List.of("b", "c"), where("k" + i));
            Map<String, Map<String, byte[]>> disks = assertDisksMatchLedger();
            assertFalse(disks.get("a").containsKey("k" + i), "the replaced copy on a is gone");
            assertArrayEquals(last, disks.get("c").get("k" + i));
            replicator.close();
            clean();
        }
    }

    @Test
    void aDeleteDuringAPendingCopyLeavesNothing() throws Exception {
        for (int i = 0; i < 5; i++) {
            openGated();
            changeDuringCopy("k" + i, chain::delete);
            assertEquals(List.of(), where("k" + i));
            assertDisksMatchLedger().values().forEach(files -> assertEquals(Map.of(), files));
            assertEquals(StoredTotals.ZERO, meter.storedOfUser("u"));
            replicator.close();
            clean();
        }
        // Deleted before the replicator started: the task ends with the object.
        open("round-robin");
        put("gone", random(10, 1));
        assertEquals(1, pending());
        chain.delete("gone");
        assertEquals(0, pending());
        assertDisksMatchLedger().values().forEach(files -> assertEquals(Map.of(), files));
    }

    @Test
    void aRenameDuringAPendingCopyCarriesTheCopyToTheNewName() throws Exception {
        openGated();
        changeDuringCopy("old", key -> chain.move(key, "new"));
        assertEquals(List.of(), where("old"));
        assertEquals(List.of("a", "b"), where("new"));
        Map<String, Map<String, byte[]>> disks = assertDisksMatchLedger();
        assertArrayEquals(disks.get("a").get("new"), disks.get("b").get("new"));
        assertEquals(new StoredTotals(200_000, 1), meter.storedOfUser("u"));
    }

    private void clean() throws IOException {
        for (String m : List.of("a", "b", "c")) {
            Path root = dir.resolve(m);
            if (Files.exists(root)) {
                try (Stream<Path> walk = Files.walk(root)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    /** A local member whose uploads fail, before their first byte, while its temporary folder is a file. */
    private LocalStorage failing(String name) throws IOException {
        LocalStorage s = new LocalStorage(name, dir.resolve(name));
        Path temp = dir.resolve(name).resolve(LocalStorage.TEMP_FOLDER);
        Files.delete(temp);
        Files.writeString(temp, "not a folder");
        return s;
    }

    private void recover(String name) throws IOException {
        Path temp = dir.resolve(name).resolve(LocalStorage.TEMP_FOLDER);
        Files.delete(temp);
        Files.createDirectory(temp);
    }

    /** Times at which a member was asked to take an upload. */
    private static final class Counting extends ForwardingStorage {
        final List<Long> creates = new CopyOnWriteArrayList<>();

        Counting(Storage next) {
            super(next);
        }

        @Override
        public Upload create(String key, long size) throws IOException {
            creates.add(System.nanoTime());
            return next.create(key, size);
        }
    }

    @Test
    void aFailingTargetIsRetriedWithBackoffThenReplacedByAHealthyMember() throws Exception {
        Counting b = new Counting(failing("b"));
        open("failover", List.of("a", "b", "c"), Map.of("b", b));
        put("x", random(100_000, 7));
        assertEquals("b", meter.copyQueue().pendingCopies("pool", "x").get(0).target());
        replicator.start();
        awaitReplicated();
        assertEquals(List.of("a", "c"), where("x"), "once b was unhealthy, the copy went to c");
        assertEquals(2, b.creates.size(), "b refused twice, which made it unhealthy");
        long gap = b.creates.get(1) - b.creates.get(0);
        assertTrue(gap >= TimeUnit.MILLISECONDS.toNanos(50), "the second attempt waited: " + gap + " ns");
        assertFalse(members.get(1).healthy());
        assertEquals(2, members.get(1).errors());
        assertDisksMatchLedger();
        assertEquals(new StoredTotals(100_000, 1), meter.storedOf("c"));
    }

    @Test
    void aFailingTargetWithNoOtherMemberIsRetriedUntilItRecovers() throws Exception {
        Counting b = new Counting(failing("b"));
        open("failover", List.of("a", "b"), Map.of("b", b));
        put("y", random(150_000, 8));
        replicator.start();
        // Two refusals make b unhealthy; then the copy waits, backing off, with no other member to go to.
        await("b is unhealthy", () -> !members.get(1).healthy());
        await("the copy has waited a few times", () -> {
            try {
                return meter.copyQueue().pendingCopies("pool", "y").get(0).attempts() >= 4;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(2, b.creates.size(), "an unhealthy target is not asked");
        assertEquals(List.of("a"), where("y"));
        recover("b");
        members.get(1).probed(true);
        awaitReplicated();
        assertEquals(List.of("a", "b"), where("y"));
        assertEquals(3, b.creates.size());
        Map<String, Map<String, byte[]>> disks = assertDisksMatchLedger();
        assertArrayEquals(disks.get("a").get("y"), disks.get("b").get("y"));
    }

    @Test
    void backoffDoublesUpToItsCap() {
        Replicator.Settings s = new Replicator.Settings(2, Duration.ofSeconds(1), Duration.ofMinutes(5),
                Duration.ofMinutes(2), Duration.ofSeconds(1));
        List<Long> waits = new ArrayList<>();
        for (int attempt = 1; attempt <= 12; attempt++) {
            waits.add(s.backoff(attempt).toSeconds());
        }
        assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 32L, 64L, 128L, 256L, 300L, 300L, 300L), waits);
        assertEquals(Duration.ofMinutes(5), s.backoff(1_000));
    }
}
