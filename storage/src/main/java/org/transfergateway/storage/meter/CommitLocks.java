package org.transfergateway.storage.meter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Orders the commits to one key: while one upload commits (looks at what it replaces,
 * makes the object visible and records the stored change), no other upload, delete or
 * rename of the same key does. Without it, two uploads of a new key both count it as new,
 * and the ledger may keep the size of the commit that the backend did not keep last.
 *
 * <p>The ledger provides the locks: an embedded one is held by one process, so locks in
 * memory suffice; a shared database also orders the commits of other gateways
 * ({@link PostgresCommitLocks}).
 */
public interface CommitLocks {
    /** The number of in-process locks; a power of two. */
    int STRIPES = 1024;

    /** Blocks until no other commit to {@code key} of {@code backend} runs; the caller closes the result. */
    Held lock(String backend, String key) throws IOException;

    /**
     * Both keys (a rename's source and target), taken in one order that every process
     * shares, so that two renames in opposite directions cannot wait for each other.
     */
    default Held lock(String backend, String a, String b) throws IOException {
        if (a.equals(b)) {
            return lock(backend, a);
        }
        boolean aFirst = ORDER.compare(hash(backend, a), hash(backend, b)) <= 0;
        Held first = lock(backend, aFirst ? a : b);
        try {
            Held second = lock(backend, aFirst ? b : a);
            return () -> {
                second.close();
                first.close();
            };
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
    }

    /** By stripe of {@link #inProcess()} first, so that in-process stripes are taken in order too. */
    java.util.Comparator<Long> ORDER = java.util.Comparator.<Long>comparingLong(h -> h & (STRIPES - 1))
            .thenComparing(Long::compareUnsigned);

    /** A held lock; closing it twice is harmless. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** Locks for one process: {@link #STRIPES} of them, so two keys share one only by chance and briefly. */
    static CommitLocks inProcess() {
        ReentrantLock[] stripes = new ReentrantLock[STRIPES];
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new ReentrantLock();
        }
        return (backend, key) -> {
            ReentrantLock l = stripes[(int) (hash(backend, key) & (stripes.length - 1))];
            l.lock();
            boolean[] released = {false};
            return () -> {
                if (!released[0]) {
                    released[0] = true;
                    l.unlock();
                }
            };
        };
    }

    /** A 64-bit FNV-1a hash of backend and key, the same in every process. */
    static long hash(String backend, String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (backend + '\0' + key).getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
