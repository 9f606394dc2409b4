package org.transfergateway.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link Storage} and {@link Upload}, as their Javadoc states it, checked
 * against a real backend. Every backend type extends this class and supplies a new, empty
 * backend per test; what a backend can only check its own way (an S3 multipart upload left
 * open, a temporary file left on disk) comes in through {@link #assertNoUploadLeftOpen}.
 */
public abstract class StorageContractTest {
    protected static final int MIB = 1024 * 1024;
    /** Over S3's smallest part (5 MiB), so that an S3 backend with that part size sends it in two parts. */
    protected static final int LARGE = 6 * MIB + 12345;
    /** Writes go in pieces of this size, as a network front end hands them over. */
    private static final int PIECE = 64 * 1024;

    protected Storage storage;

    /** A new, empty backend for one test; the test closes it. */
    protected abstract Storage newStorage() throws IOException;

    /**
     * Fails when anything of an upload that was aborted or closed without a commit is still
     * held by the backend, where the Storage API cannot see it.
     */
    protected abstract void assertNoUploadLeftOpen() throws IOException;

    /** Stores a small object the quickest way the backend has, for a test that needs many. */
    protected void seed(String key, byte[] content) throws IOException {
        put(key, content);
    }

    /**
     * What the backend keeps of a modification time set with {@link Storage#setModified}:
     * the full nanoseconds unless a backend keeps less.
     */
    protected Instant keptTime(Instant set) {
        return set;
    }

    /** Closes what {@link #newStorage()} opened below a storage that does not own it (a pool's members). */
    protected void closeMembers() throws IOException {
    }

    @BeforeEach
    void openBackend() throws IOException {
        storage = newStorage();
    }

    @AfterEach
    void closeBackend() throws IOException {
        storage.close();
        closeMembers();
    }

    // ---- helpers ----

    protected static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void writeAll(Upload u, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += PIECE) {
            u.write(ByteBuffer.wrap(content, off, Math.min(PIECE, content.length - off)));
        }
    }

    protected ObjectInfo put(String key, byte[] content) throws IOException {
        try (Upload u = storage.create(key)) {
            writeAll(u, content);
            assertEquals(content.length, u.written());
            return u.commit();
        }
    }

    private byte[] read(String key, long offset, long length) throws IOException {
        try (InputStream in = storage.read(key, offset, length)) {
            assertNotNull(in, key + " is readable");
            return in.readAllBytes();
        }
    }

    private List<String> names(String dirKey) throws IOException {
        return storage.list(dirKey).stream().map(ObjectInfo::name).toList();
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Every object under {@code dirKey} as "key=size", sorted: walk promises no order. */
    private List<String> walked(String dirKey) throws IOException {
        List<String> all = new ArrayList<>();
        storage.walk(dirKey, o -> all.add(o.key() + "=" + o.size()));
        return all.stream().sorted().toList();
    }

    /**
     * Asserts that the whole walk comes to {@code expected} within 10 s. S3Proxy deletes the
     * temporary file of a PutObject cut off midway ({@code <key>-<uuid>}) a moment after the
     * request fails, and its listing shows that file until then: no object of ours.
     */
    private void assertWalkSettlesAt(List<String> expected) throws IOException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        List<String> walked = walked("");
        while (!walked.equals(expected) && System.nanoTime() < deadline) {
            sleepQuietly(50);
            walked = walked("");
        }
        assertEquals(expected, walked);
    }

    private static ErrorCode codeOf(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(GatewayException.class, e).code();
    }

    /** Only {@code key} with {@code content}, as stat, read, list and walk all see it. */
    private void assertStored(String key, byte[] content) throws IOException {
        ObjectInfo info = storage.stat(key);
        assertNotNull(info, key);
        assertEquals(key, info.key());
        assertFalse(info.folder());
        assertEquals(content.length, info.size());
        assertArrayEquals(content, read(key, 0, -1));
        String dir = key.contains("/") ? key.substring(0, key.lastIndexOf('/')) : "";
        List<ObjectInfo> listed = storage.list(dir).stream().filter(o -> o.key().equals(key)).toList();
        assertEquals(1, listed.size(), key + " is listed once");
        assertEquals(content.length, listed.get(0).size());
        assertTrue(walked(dir).contains(key + "=" + content.length));
    }

    private void assertAbsent(String key) throws IOException {
        assertNull(storage.stat(key), key);
        assertNull(storage.read(key, 0, -1), key);
        String dir = key.contains("/") ? key.substring(0, key.lastIndexOf('/')) : "";
        assertTrue(storage.list(dir).stream().noneMatch(o -> o.key().equals(key)), key + " is not listed");
        assertTrue(walked(dir).stream().noneMatch(w -> w.startsWith(key + "=")), key + " is not walked");
    }

    // ---- absent keys ----

    @Test
    void absentKeysAreNullFalseOrNotFound() throws IOException {
        put("here/file.bin", new byte[] {1});
        for (String key : List.of("nothing.bin", "here/nothing.bin", "nowhere/deep/nothing.bin")) {
            assertNull(storage.stat(key), key);
            assertNull(storage.read(key, 0, -1), key);
            assertNull(storage.read(key, 5, 10), key);
            assertFalse(storage.delete(key), key);
            assertEquals(ErrorCode.NOT_FOUND, codeOf(() -> storage.move(key, "moved.bin")), key);
        }
        assertNull(storage.stat("moved.bin"));
        assertEquals(List.of(), storage.list("nowhere"));
        assertEquals(List.of(), walked("nowhere"));
        assertFalse(storage.removeFolder("nowhere"));
        assertEquals(List.of("here/file.bin=1"), walked(""));
    }

    // ---- uploads ----

    @Test
    void uploadedBytesComeBackExactly() throws IOException {
        for (int size : new int[] {0, 1, LARGE}) {
            String key = "up/" + size + ".bin";
            byte[] content = random(size, size);
            ObjectInfo info = put(key, content);
            assertEquals(key, info.key());
            assertFalse(info.folder());
            assertEquals(size, info.size());
            assertStored(key, content);
        }
        // A range across the boundary of 5 MiB parts.
        byte[] large = random(LARGE, LARGE);
        assertArrayEquals(Arrays.copyOfRange(large, 5 * MIB - 7, 5 * MIB + 7), read("up/" + LARGE + ".bin", 5 * MIB - 7, 14));
        assertNoUploadLeftOpen();
    }

    @Test
    void anUploadOfAnnouncedSizeComesBackExactly() throws IOException {
        for (int size : new int[] {0, 1, LARGE}) {
            String key = "sized/" + size + ".bin";
            byte[] content = random(size, size + 1);
            ObjectInfo info;
            try (Upload u = storage.create(key, size)) {
                writeAll(u, content);
                assertEquals(size, u.written());
                info = u.commit();
            }
            assertEquals(key, info.key());
            assertEquals(size, info.size());
            assertStored(key, content);
        }
        assertNoUploadLeftOpen();
    }

    /** "Writing more or committing fewer than size bytes fails the upload": by its commit at the latest. */
    @Test
    void anUploadOfAnnouncedSizeFailsOnMoreOrFewerBytesAndLeavesNothing() throws IOException {
        record Case(String key, long announced, int written) {
        }
        List<Case> cases = List.of(new Case("more-than-0.bin", 0, 1), new Case("more-than-10.bin", 10, 11),
                new Case("fewer-than-10.bin", 10, 9), new Case("fewer-than-large.bin", LARGE, LARGE - 1),
                new Case("fewer-than-200MiB.bin", 200L * MIB, 1));
        for (Case c : cases) {
            Upload u = storage.create(c.key(), c.announced());
            try {
                writeAll(u, random(c.written(), 5));
                u.commit();
                fail(c + " was committed");
            } catch (IOException expected) {
                // by a write or by the commit
            } finally {
                u.close();
            }
            assertAbsent(c.key());
        }
        assertWalkSettlesAt(List.of());
        assertNoUploadLeftOpen();
    }

    @Test
    void anOverwriteKeepsOnlyTheNewContentAndSize() throws IOException {
        put("o/k.bin", random(LARGE, 1));
        byte[] smaller = random(3, 2);
        assertEquals(3, put("o/k.bin", smaller).size());
        assertStored("o/k.bin", smaller);
        byte[] larger = random(1000, 3);
        try (Upload u = storage.create("o/k.bin", larger.length)) {
            writeAll(u, larger);
            u.commit();
        }
        assertStored("o/k.bin", larger);
        assertEquals(List.of("o/k.bin=1000"), walked(""));
        assertNoUploadLeftOpen();
    }

    @Test
    void nothingIsVisibleUnderTheKeyBeforeCommit() throws IOException {
        byte[] old = random(10, 4);
        put("v/old.bin", old);
        byte[] content = random(LARGE, 5);
        try (Upload fresh = storage.create("v/new.bin"); Upload replacing = storage.create("v/old.bin")) {
            writeAll(fresh, content);
            writeAll(replacing, content);
            assertAbsent("v/new.bin");
            assertStored("v/old.bin", old);
            assertEquals(List.of("old.bin"), names("v"));
            assertEquals(List.of("v/old.bin=10"), walked(""));
            fresh.commit();
            replacing.commit();
        }
        assertStored("v/new.bin", content);
        assertStored("v/old.bin", content);
        assertNoUploadLeftOpen();
    }

    /** Aborted, closed without commit, with or without an announced size: nothing lands. */
    @Test
    void anUploadNotCommittedLeavesNothingAndTheReplacedObjectUnchanged() throws IOException {
        byte[] old = random(10, 6);
        put("a/kept.bin", old);
        byte[] content = random(LARGE, 7);
        int n = 0;
        for (String key : List.of("a/new.bin", "a/kept.bin")) {
            for (boolean sized : new boolean[] {false, true}) {
                for (boolean abort : new boolean[] {false, true}) {
                    Upload u = sized ? storage.create(key, content.length) : storage.create(key);
                    writeAll(u, content); // every byte of an announced size: only the commit is missing
                    if (abort) {
                        u.abort();
                        u.abort();
                    }
                    u.close();
                    n++;
                }
            }
        }
        assertEquals(8, n);
        assertAbsent("a/new.bin");
        assertStored("a/kept.bin", old);
        assertWalkSettlesAt(List.of("a/kept.bin=10"));
        assertNoUploadLeftOpen();
    }

    // ---- continuing (FTP APPE, REST + STOR) ----

    /**
     * The kept bytes, then the new ones, visible only at the commit (the old object reads
     * whole until then); an aborted continuation leaves the old object as it was.
     */
    @Test
    void aContinuedUploadKeepsItsPrefixAndReplacesTheObjectOnlyAtCommit() throws IOException {
        byte[] old = random(LARGE, 30); // over S3's smallest part: S3 copies the kept bytes on its side
        put("c/file.bin", old);
        byte[] tail = random(1000, 31);

        Upload aborted = storage.createContinuing("c/file.bin", old.length);
        writeAll(aborted, tail);
        aborted.abort();
        assertStored("c/file.bin", old);

        byte[] appended;
        try (Upload u = storage.createContinuing("c/file.bin", old.length)) {
            writeAll(u, tail);
            assertStored("c/file.bin", old);
            appended = concat(old, old.length, tail);
            assertEquals(appended.length, u.commit().size());
        }
        assertStored("c/file.bin", appended);

        int offset = 5 * MIB + 1; // inside what was stored: what lies after it is replaced
        byte[] more = random(MIB, 32);
        try (Upload u = storage.createContinuing("c/file.bin", offset)) {
            writeAll(u, more);
            u.commit();
        }
        assertStored("c/file.bin", concat(appended, offset, more));
        assertNoUploadLeftOpen();
    }

    private static byte[] concat(byte[] a, int aLength, byte[] b) {
        byte[] all = Arrays.copyOf(a, aLength + b.length);
        System.arraycopy(b, 0, all, aLength, b.length);
        return all;
    }

    // ---- reads ----

    @Test
    void aModificationTimeSetIsWhatStatAndListingsReportAndNoByteChanges() throws IOException {
        assertTrue(storage.keepsModified());
        byte[] content = random(1000, 17);
        put("d/t.bin", content);
        put("d/other.bin", utf8("other"));
        Instant time = Instant.parse("2001-02-03T04:05:06.123456789Z");
        storage.setModified("d/t.bin", time);

        ObjectInfo stat = storage.stat("d/t.bin");
        assertEquals(keptTime(time), stat.modified());
        assertEquals(content.length, stat.size());
        assertArrayEquals(content, read("d/t.bin", 0, -1));
        List<ObjectInfo> listed = storage.list("d");
        assertEquals(List.of("other.bin", "t.bin"), listed.stream().map(ObjectInfo::name).toList());
        assertEquals(keptTime(time), listed.get(1).modified());
        assertEquals(content.length, listed.get(1).size());
        assertTrue(listed.get(0).modified().isAfter(Instant.parse("2020-01-01T00:00:00Z")), "an untouched file keeps its own time");

        Instant later = Instant.parse("2024-12-31T23:59:59.5Z");
        storage.setModified("d/t.bin", later);
        assertEquals(keptTime(later), storage.stat("d/t.bin").modified());
        assertEquals(keptTime(later), storage.list("d").get(1).modified());
        storage.move("d/t.bin", "d/moved.bin");
        assertEquals(keptTime(later), storage.stat("d/moved.bin").modified(), "a rename keeps the time");
        storage.move("d/moved.bin", "d/t.bin");

        // An overwrite is a new file: its time is that of its upload, not the one set before.
        put("d/t.bin", utf8("new"));
        assertTrue(storage.stat("d/t.bin").modified().isAfter(later));
        assertTrue(storage.list("d").get(1).modified().isAfter(later));
    }

    /**
     * An upload that takes its time before its first byte ({@link Upload#commitWithModified})
     * is committed with it: stat and listing show it from the commit on. A backend whose
     * uploads cannot take it says so, and its caller sets the time after the commit.
     */
    @Test
    void anUploadCommittedWithATimeShowsItFromTheCommitOn() throws IOException {
        Instant time = Instant.parse("2012-03-04T05:06:07.890123456Z");
        byte[] small = random(1000, 3);
        byte[] large = random(LARGE, 4);
        for (String key : List.of("c/small.bin", "c/sized.bin", "c/large.bin", "c/large-sized.bin", "c/empty.bin")) {
            byte[] content = key.contains("large") ? large : key.contains("empty") ? new byte[0] : small;
            try (Upload u = key.contains("sized") ? storage.create(key, content.length) : storage.create(key)) {
                if (!u.commitWithModified(time)) {
                    continue;
                }
                writeAll(u, content);
                assertEquals(keptTime(time), u.commit().modified(), key);
            }
            assertEquals(keptTime(time), storage.stat(key).modified(), key);
            assertArrayEquals(content, read(key, 0, -1), key);
        }
        for (ObjectInfo listed : storage.list("c")) {
            assertEquals(keptTime(time), listed.modified(), listed.key());
        }
        // Taken, then aborted: nothing stored, nothing held.
        try (Upload u = storage.create("c/aborted.bin", 10)) {
            u.commitWithModified(time);
            u.abort();
        }
        assertNull(storage.stat("c/aborted.bin"));
        assertNoUploadLeftOpen();
    }

    @Test
    void settingTheTimeOfAnAbsentFileIsNotFound() throws IOException {
        assertEquals(ErrorCode.NOT_FOUND, codeOf(() -> storage.setModified("absent.bin", Instant.EPOCH)));
    }

    @Test
    void rangedReadsReturnExactlyTheRange() throws IOException {
        byte[] content = random(1000, 8);
        put("r.bin", content);
        assertArrayEquals(content, read("r.bin", 0, -1));
        assertArrayEquals(Arrays.copyOfRange(content, 10, 30), read("r.bin", 10, 20));
        assertArrayEquals(Arrays.copyOfRange(content, 990, 1000), read("r.bin", 990, -1));
        assertArrayEquals(Arrays.copyOfRange(content, 995, 1000), read("r.bin", 995, 50), "a length beyond the end stops at the end");
        assertArrayEquals(Arrays.copyOfRange(content, 0, 1), read("r.bin", 0, 1));
        assertArrayEquals(new byte[0], read("r.bin", 1000, -1), "at the end: empty");
        assertArrayEquals(new byte[0], read("r.bin", 1000, 5), "at the end: empty");
        assertArrayEquals(new byte[0], read("r.bin", 5, 0));
        put("empty.bin", new byte[0]);
        assertArrayEquals(new byte[0], read("empty.bin", 0, -1));
        assertArrayEquals(new byte[0], read("empty.bin", 0, 10));
    }

    // ---- listing ----

    @Test
    void aListingIsOneLevelSortedByNameWithoutMarkers() throws IOException {
        storage.makeFolder("d");
        put("d/b.txt", utf8("bb"));
        put("d/B.txt", utf8("B"));
        put("d/a b.txt", utf8("a b"));
        put("d/ä.txt", utf8("ümlaut"));
        put("d/sub/deep.txt", utf8("deep"));
        storage.makeFolder("d/empty");

        List<ObjectInfo> entries = storage.list("d");
        assertEquals(List.of("d/B.txt", "d/a b.txt", "d/b.txt", "d/empty", "d/sub", "d/ä.txt"),
                entries.stream().map(ObjectInfo::key).toList());
        assertEquals(List.of("B.txt=1", "a b.txt=3", "b.txt=2", "empty/", "sub/", "ä.txt=7"),
                entries.stream().map(o -> o.name() + (o.folder() ? "/" : "=" + o.size())).toList());
        assertEquals(List.of("d"), names(""));
        assertTrue(storage.list("").get(0).folder());
        assertEquals(List.of(), storage.list("d/empty"));
        assertEquals(List.of("deep.txt"), names("d/sub"));
        assertEquals(List.of(), storage.list("d/absent"));
    }

    @Test
    void aListingOfMoreThanAThousandKeysReturnsThemAll() throws Exception {
        int count = 1_050;
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String key = String.format("many/f%04d", i);
                done.add(writers.submit(() -> {
                    seed(key, new byte[] {7});
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause());
        } finally {
            writers.shutdown();
        }
        List<ObjectInfo> entries = storage.list("many");
        assertEquals(count, entries.size());
        for (int i = 0; i < count; i++) {
            ObjectInfo e = entries.get(i);
            assertEquals(String.format("many/f%04d", i), e.key());
            assertFalse(e.folder());
            assertEquals(1, e.size());
        }
        List<ObjectInfo> walked = new ArrayList<>();
        storage.walk("many", walked::add);
        assertEquals(count, walked.size());
        assertEquals(entries.stream().map(ObjectInfo::key).toList(), walked.stream().map(ObjectInfo::key).sorted().toList());
    }

    @Test
    void aWalkDeliversEveryObjectAtAnyDepthWithoutMarkers() throws IOException {
        put("top.bin", new byte[1]);
        put("w/a.bin", new byte[2]);
        put("w/x/b.bin", new byte[3]);
        put("w/x/y/c.bin", new byte[0]);
        put("w/x/y/z/d.bin", new byte[5]);
        storage.makeFolder("w/empty");
        storage.makeFolder("w/x/also-empty");
        assertEquals(List.of("top.bin=1", "w/a.bin=2", "w/x/b.bin=3", "w/x/y/c.bin=0", "w/x/y/z/d.bin=5"), walked(""));
        assertEquals(List.of("w/a.bin=2", "w/x/b.bin=3", "w/x/y/c.bin=0", "w/x/y/z/d.bin=5"), walked("w"));
        assertEquals(List.of("w/x/y/z/d.bin=5"), walked("w/x/y/z"));
        assertEquals(List.of(), walked("w/empty"));
        List<ObjectInfo> all = new ArrayList<>();
        storage.walk("", all::add);
        assertTrue(all.stream().noneMatch(ObjectInfo::folder));
    }

    // ---- rename ----

    @Test
    void aMoveReplacesTheTargetAndRemovesTheSource() throws IOException {
        byte[] content = random(1234, 9);
        put("m/from.bin", content);
        put("m/to.bin", random(LARGE, 10));
        storage.move("m/from.bin", "m/to.bin");
        assertAbsent("m/from.bin");
        assertStored("m/to.bin", content);

        storage.move("m/to.bin", "elsewhere/deeper/moved.bin");
        assertAbsent("m/to.bin");
        assertStored("elsewhere/deeper/moved.bin", content);
        assertEquals(List.of("elsewhere/deeper/moved.bin=1234"), walked(""));
        assertEquals(ErrorCode.NOT_FOUND, codeOf(() -> storage.move("m/from.bin", "m/again.bin")));
    }

    // ---- folders ----

    @Test
    void aFolderIsMadeAndRemovedOnlyWhenEmpty() throws IOException {
        storage.makeFolder("f");
        storage.makeFolder("f"); // existing is fine
        ObjectInfo f = storage.stat("f");
        assertEquals("f", f.key());
        assertTrue(f.folder());
        assertEquals(0, f.size());
        assertEquals(List.of(), storage.list("f"));
        assertEquals(List.of("f"), names(""));
        assertEquals(List.of(), walked(""));

        put("f/child.bin", new byte[] {1});
        assertEquals(ErrorCode.NOT_EMPTY, codeOf(() -> storage.removeFolder("f")));
        assertStored("f/child.bin", new byte[] {1});
        assertTrue(storage.delete("f/child.bin"));
        assertTrue(storage.removeFolder("f"));
        assertNull(storage.stat("f"));
        assertEquals(List.of(), storage.list(""));
        assertFalse(storage.removeFolder("f"));

        storage.makeFolder("g/h");
        assertTrue(storage.stat("g").folder(), "a folder with a folder in it exists");
        assertTrue(storage.stat("g/h").folder());
        assertEquals(ErrorCode.NOT_EMPTY, codeOf(() -> storage.removeFolder("g")), "a folder under it");
        assertTrue(storage.removeFolder("g/h"));
        assertNull(storage.stat("g/h"));
        assertFalse(storage.removeFolder("g/h"));
        assertFalse(storage.removeFolder("absent"));
    }

    @Test
    void aFolderExistsWhileAnObjectLiesUnderIt() throws IOException {
        put("implied/deep/x.bin", new byte[] {1, 2});
        for (String dir : List.of("implied", "implied/deep")) {
            ObjectInfo info = storage.stat(dir);
            assertNotNull(info, dir);
            assertTrue(info.folder(), dir);
            assertEquals(dir, info.key());
        }
        assertEquals(List.of(true), storage.list("").stream().map(ObjectInfo::folder).toList());
        assertEquals(List.of("deep"), names("implied"));
        assertEquals(ErrorCode.NOT_EMPTY, codeOf(() -> storage.removeFolder("implied/deep")));
    }

    // ---- keys ----

    @Test
    void keysWithUtf8AndSpacesWorkThroughout() throws IOException {
        String dir = "Grüße aus Köln/目录 2";
        String key = dir + "/naïve ∑ file €.txt";
        byte[] content = utf8("Inhalt: äöü ß ✓");
        assertEquals(key, put(key, content).key());
        assertStored(key, content);
        assertEquals(List.of("目录 2"), names("Grüße aus Köln"));
        assertEquals(List.of("naïve ∑ file €.txt"), names(dir));
        assertArrayEquals(Arrays.copyOfRange(content, 9, 11), read(key, 9, 2));
        storage.move(key, "Ünïcödé/файл с пробелом.txt");
        assertAbsent(key);
        assertStored("Ünïcödé/файл с пробелом.txt", content);
        storage.makeFolder("Leer Ordner ✓");
        assertTrue(storage.stat("Leer Ordner ✓").folder());
        assertTrue(storage.removeFolder("Leer Ordner ✓"));
        assertTrue(storage.delete("Ünïcödé/файл с пробелом.txt"));
        assertEquals(List.of(), walked(""));
    }
}
