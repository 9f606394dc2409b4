package org.transfergateway.protocols.http;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The current speed of each transfer in progress: samples of its byte count, kept per
 * transfer id and shared by every event stream of a front end, so that two dashboards
 * show the same speed and a transfer is sampled at most every {@link #MIN_GAP_NANOS}.
 * The speed is the bytes moved since the oldest sample at most {@link #WINDOW_NANOS}
 * old (about two seconds), or since the transfer started when it is younger. Thread-safe.
 */
final class TransferRates {
    static final long WINDOW_NANOS = 2_000_000_000L;
    static final long MIN_GAP_NANOS = 100_000_000L;

    private record Sample(long nanos, long bytes) {
    }

    /** transfer id -> samples, oldest first; guarded by {@code this}. */
    private final Map<String, ArrayDeque<Sample>> samples = new HashMap<>();

    /**
     * Bytes per second of transfer {@code id} that has moved {@code bytes} now, rounded
     * down; records the sample.
     *
     * @param startedAt when the transfer started (it had moved nothing then)
     */
    synchronized long speed(String id, long bytes, Instant startedAt, long nowNanos, Instant now) {
        ArrayDeque<Sample> list = samples.computeIfAbsent(id, k -> {
            ArrayDeque<Sample> d = new ArrayDeque<>();
            long age = Math.max(0, java.time.Duration.between(startedAt, now).toNanos());
            d.add(new Sample(nowNanos - age, 0));
            return d;
        });
        // Keep one sample at or past the window's start as the base, none older.
        while (list.size() > 1) {
            Sample second = list.stream().skip(1).findFirst().orElseThrow();
            if (nowNanos - second.nanos() < WINDOW_NANOS) {
                break;
            }
            list.removeFirst();
        }
        Sample base = list.peekFirst();
        if (nowNanos - list.peekLast().nanos() >= MIN_GAP_NANOS) {
            list.addLast(new Sample(nowNanos, bytes));
        }
        long elapsed = nowNanos - base.nanos();
        if (elapsed <= 0 || bytes <= base.bytes()) {
            return 0;
        }
        return (long) ((bytes - base.bytes()) * 1e9 / elapsed);
    }

    /** Forgets a transfer that ended. */
    synchronized void forget(String id) {
        samples.remove(id);
    }

    /** Forgets every transfer but {@code ids}: one sampled as it ended is not kept for ever. */
    synchronized void retain(java.util.Set<String> ids) {
        samples.keySet().retainAll(ids);
    }

    /** The transfers sampled now; for tests. */
    synchronized int tracked() {
        return samples.size();
    }
}
