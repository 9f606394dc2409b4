package org.transfergateway.storage.meter;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The part of users' quotas that uploads in progress hold: an upload reserves the bytes
 * (and the file) it may add before they reach storage, so that the room others see is the
 * quota less what is stored and what every upload in progress holds, and two uploads never
 * both take the last free bytes. A reservation ends once its upload's stored change is
 * recorded, or when the upload fails.
 *
 * <p>Where the ledger is shared, reservations are rows of the ledger, taken one user at a
 * time across the nodes ({@link Ledger#reserve}); a node counted dead loses its rows with
 * its transfers. Elsewhere they are kept in memory against the meter's stored totals,
 * without a database round trip.
 */
public final class QuotaReservations {
    /** The shared ledger, or null to keep reservations in memory. */
    private final Ledger shared;
    private final TransferMeter meter;
    /** user -> {bytes, files} held by reservations in memory; guarded by {@code this}. */
    private final Map<String, long[]> held = new HashMap<>();

    QuotaReservations(Ledger shared, TransferMeter meter) {
        this.shared = shared;
        this.meter = meter;
    }

    /** True when each growth of a reservation is a database round trip. */
    public boolean remote() {
        return shared != null;
    }

    /** A new, empty reservation of {@code user}'s quota (of {@code quotaBytes} and {@code quotaFiles}, 0 for none). */
    public Reservation open(String user, long quotaBytes, long quotaFiles) {
        String id = "q-" + Long.toString(System.currentTimeMillis(), 36) + "-"
                + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
        return new Reservation(id, user, quotaBytes, quotaFiles);
    }

    /** The room check and the growth in one step, as {@link Ledger#reserve} does it. */
    private synchronized long reserveInMemory(String user, long minBytes, long wantBytes, long files,
                                              long quotaBytes, long quotaFiles) {
        StoredTotals stored = meter.storedOfUser(user);
        long[] h = held.computeIfAbsent(user, u -> new long[2]);
        long grant = wantBytes;
        if (quotaBytes > 0) {
            grant = Math.min(wantBytes, Math.max(0, quotaBytes - stored.bytes() - h[0]));
        }
        if (grant < minBytes) {
            return Ledger.NO_ROOM_BYTES;
        }
        if (quotaFiles > 0 && files > 0 && stored.objects() + h[1] + files > quotaFiles) {
            return Ledger.NO_ROOM_FILES;
        }
        h[0] += grant;
        h[1] += files;
        return grant;
    }

    private synchronized void releaseInMemory(String user, long bytes, long files) {
        long[] h = held.get(user);
        if (h != null) {
            h[0] -= bytes;
            h[1] -= files;
            if (h[0] == 0 && h[1] == 0) {
                held.remove(user);
            }
        }
    }

    /** What one upload holds; used by one thread at a time. */
    public final class Reservation {
        private final String id;
        private final String user;
        private final long quotaBytes;
        private final long quotaFiles;
        private boolean opened;
        private boolean released;
        private long bytes;
        private long files;

        private Reservation(String id, String user, long quotaBytes, long quotaFiles) {
            this.id = id;
            this.user = user;
            this.quotaBytes = quotaBytes;
            this.quotaFiles = quotaFiles;
        }

        /**
         * Adds at least {@code minBytes} and at most {@code wantBytes} of the room, and
         * {@code files}. Returns the bytes added, or {@link Ledger#NO_ROOM_BYTES} /
         * {@link Ledger#NO_ROOM_FILES} with nothing added (also once released).
         */
        public long add(long minBytes, long wantBytes, long files) throws IOException {
            if (released) {
                return Ledger.NO_ROOM_BYTES;
            }
            long got;
            if (shared != null) {
                got = shared.reserve(id, user, !opened, minBytes, wantBytes, files, quotaBytes, quotaFiles);
                opened |= got >= 0;
            } else {
                got = reserveInMemory(user, minBytes, wantBytes, files, quotaBytes, quotaFiles);
            }
            if (got >= 0) {
                bytes += got;
                this.files += files;
            }
            return got;
        }

        /** The bytes held. */
        public long bytes() {
            return bytes;
        }

        /** The files held. */
        public long files() {
            return files;
        }

        /** Gives everything back, once; never throws. */
        public void release() {
            if (released) {
                return;
            }
            released = true;
            if (shared != null) {
                if (opened) {
                    shared.release(id);
                }
            } else {
                releaseInMemory(user, bytes, files);
            }
        }
    }
}
