package org.transfergateway.storage.pool;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backend of a pool as the placement policies see it: its configured name and weight,
 * and its live state: health, stored bytes, bytes in flight, errors and recent latency.
 *
 * <p>Health: the member becomes unhealthy after {@code unhealthyAfter} consecutive failed
 * operations, or at once when a probe fails. Only a successful probe makes it healthy
 * again; a successful operation resets the count of consecutive failures but does not
 * revive an unhealthy member (a lucky read must not put a flapping backend back in
 * rotation between probes).
 *
 * <p>Thread-safe. {@link #succeeded}, {@link #addOutstandingBytes} and
 * {@link #subtractOutstandingBytes} run once per transfer and take no lock.
 */
public final class Member {
    private static final Logger log = LoggerFactory.getLogger(Member.class);

    /** Consecutive failures that make a member unhealthy, unless configured otherwise. */
    public static final int DEFAULT_UNHEALTHY_AFTER = 3;
    /** Successful operations kept for the latency quantiles; a power of two. */
    public static final int LATENCY_WINDOW = 1024;

    private final String name;
    private final int weight;
    private final int unhealthyAfter;

    private final AtomicBoolean healthy = new AtomicBoolean(true);
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong storedBytes = new AtomicLong();
    private final AtomicLong outstandingBytes = new AtomicLong();
    // A ring of the latest successful operations' latencies; `samples` counts every one ever
    // recorded, so `samples & (LATENCY_WINDOW - 1)` is the next slot.
    private final AtomicLongArray latencyNanos = new AtomicLongArray(LATENCY_WINDOW);
    private final AtomicLong samples = new AtomicLong();

    /** A member of weight {@code weight} that turns unhealthy after {@link #DEFAULT_UNHEALTHY_AFTER} failures. */
    public Member(String name, int weight) {
        this(name, weight, DEFAULT_UNHEALTHY_AFTER);
    }

    public Member(String name, int weight, int unhealthyAfter) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("member name: must not be empty");
        }
        if (weight < 1) {
            throw new IllegalArgumentException("member " + name + ": weight " + weight + " is below 1");
        }
        if (unhealthyAfter < 1) {
            throw new IllegalArgumentException(
                    "member " + name + ": unhealthyAfter " + unhealthyAfter + " is below 1");
        }
        this.name = name;
        this.weight = weight;
        this.unhealthyAfter = unhealthyAfter;
    }

    /** The backend's configured name, as in {@code storage.backends[].name}. */
    public String name() {
        return name;
    }

    /** The weight for the {@code weighted} policy, at least 1. */
    public int weight() {
        return weight;
    }

    public boolean healthy() {
        return healthy.get();
    }

    // ---- stored bytes: set by the pool from the ledger, then kept up to date

    public long storedBytes() {
        return storedBytes.get();
    }

    public void setStoredBytes(long bytes) {
        storedBytes.set(bytes);
    }

    /** Adds {@code delta} bytes (negative after a delete) and returns the new total. */
    public long addStoredBytes(long delta) {
        return storedBytes.addAndGet(delta);
    }

    // ---- bytes in flight: added when a transfer starts, subtracted when it ends

    public long outstandingBytes() {
        return outstandingBytes.get();
    }

    public long addOutstandingBytes(long bytes) {
        return outstandingBytes.addAndGet(bytes);
    }

    public long subtractOutstandingBytes(long bytes) {
        return outstandingBytes.addAndGet(-bytes);
    }

    // ---- health

    /** Records a successful operation that took {@code latencyNanos}. */
    public void succeeded(long latencyNanos) {
        // Read before writing: on the hot path the count is almost always 0 already, and a
        // plain read keeps the cache line shared between the threads that succeed at once.
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
        long slot = samples.getAndIncrement() & (LATENCY_WINDOW - 1);
        this.latencyNanos.set((int) slot, Math.max(0, latencyNanos));
    }

    /** Records a failed operation; the {@code unhealthyAfter}-th in a row makes the member unhealthy. */
    public void failed() {
        errors.incrementAndGet();
        int inARow = consecutiveFailures.incrementAndGet();
        if (inARow >= unhealthyAfter && healthy.compareAndSet(true, false)) {
            log.warn("backend {} is unhealthy after {} consecutive failures", name, inARow);
        }
    }

    /**
     * Records the outcome of a health probe: a failed probe makes the member unhealthy at
     * once; a successful one makes it healthy and starts the count of failures afresh.
     * Probes are not operations: they count neither as errors nor as latency samples.
     */
    public void probed(boolean ok) {
        if (ok) {
            consecutiveFailures.set(0);
            if (healthy.compareAndSet(false, true)) {
                log.info("backend {} is healthy again: a probe succeeded", name);
            }
        } else if (healthy.compareAndSet(true, false)) {
            log.warn("backend {} is unhealthy: a probe failed", name);
        }
    }

    /** Failed operations since the member was created. */
    public long errors() {
        return errors.get();
    }

    /**
     * The latency in milliseconds at {@code quantile} (0.5 for p50, 0.99 for p99) of the last
     * {@link #LATENCY_WINDOW} successful operations, by the nearest-rank method: the smallest
     * sample with at least that fraction of the samples at or below it. 0 when there are none.
     * Exact when no operation is recorded meanwhile; during recording a slot just claimed
     * may still show the sample it replaces, which is fine for a report.
     */
    public double latencyMillis(double quantile) {
        if (!(quantile >= 0 && quantile <= 1)) {
            throw new IllegalArgumentException("quantile " + quantile + " is not within [0, 1]");
        }
        int n = (int) Math.min(samples.get(), LATENCY_WINDOW);
        if (n == 0) {
            return 0;
        }
        long[] sorted = new long[n];
        for (int i = 0; i < n; i++) {
            sorted[i] = latencyNanos.get(i);
        }
        Arrays.sort(sorted);
        // The epsilon keeps 0.07 * 100 = 7.000000000000001 at rank 7, not 8.
        int rank = Math.max(1, (int) Math.ceil(quantile * n - 1e-9));
        return sorted[rank - 1] / 1_000_000.0;
    }

    @Override
    public String toString() {
        return name;
    }
}
