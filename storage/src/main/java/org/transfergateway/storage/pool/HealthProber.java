package org.transfergateway.storage.pool;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes pool members every interval and reports each outcome to {@link Member#probed}: a
 * probe that throws, or has not returned within the timeout, has failed. One prober serves
 * every pool.
 *
 * <p>One shared daemon scheduler thread keeps the time; the probes themselves run on daemon
 * worker threads, so a backend whose probe hangs holds only its own worker and delays no
 * other member's probe. A member's next probe starts only once its previous one has returned:
 * while a probe hangs, each interval counts as another failed probe instead of piling up
 * threads on the dead backend.
 */
public final class HealthProber implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthProber.class);

    /** The longest probe timeout chosen by {@link #HealthProber(Duration)}. */
    public static final Duration MAX_DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** Checks one backend, for instance by a stat of a known key; returns when it is fine. */
    @FunctionalInterface
    public interface Probe {
        void probe() throws Exception;
    }

    private final long intervalNanos;
    private final long timeoutNanos;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService workers;
    // Guards `closed` against a report in progress, so none lands after close() returns.
    private final Object lock = new Object();
    private volatile boolean closed;

    /** Probes every {@code interval}, each with the interval as its timeout, at most {@link #MAX_DEFAULT_TIMEOUT}. */
    public HealthProber(Duration interval) {
        this(interval, interval.compareTo(MAX_DEFAULT_TIMEOUT) < 0 ? interval : MAX_DEFAULT_TIMEOUT);
    }

    /** Probes every {@code interval}; a probe not returned within {@code timeout} has failed. */
    public HealthProber(Duration interval, Duration timeout) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("probe interval: " + interval + " is not positive");
        }
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(interval) > 0) {
            throw new IllegalArgumentException(
                    "probe timeout: " + timeout + " is not within (0, " + interval + "]");
        }
        this.intervalNanos = interval.toNanos();
        this.timeoutNanos = timeout.toNanos();
        this.scheduler = new ScheduledThreadPoolExecutor(1, daemonThreads("health-prober", false));
        scheduler.setRemoveOnCancelPolicy(true);
        this.workers = Executors.newCachedThreadPool(daemonThreads("health-probe-", true));
    }

    /** Starts probing {@code member} with {@code probe}: once now, then every interval. */
    public void add(Member member, Probe probe) {
        if (closed) {
            throw new IllegalStateException("health prober is closed");
        }
        Target target = new Target(member, probe);
        scheduler.scheduleWithFixedDelay(target::tick, 0, intervalNanos, TimeUnit.NANOSECONDS);
    }

    /** Stops probing: no probe starts and no outcome is reported after this returns. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
        }
        scheduler.shutdownNow();
        workers.shutdownNow(); // interrupts the probes in flight
        try {
            // The scheduler's tasks never block, so it ends at once.
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One member's probing; its methods run on the scheduler thread, except the probe itself. */
    private final class Target {
        private final Member member;
        private final Probe probe;
        private final AtomicReference<Run> last = new AtomicReference<>();

        Target(Member member, Probe probe) {
            this.member = member;
            this.probe = probe;
        }

        void tick() {
            Run previous = last.get();
            if (previous != null && previous.busy()) {
                // Still hanging (its timeout has already reported it): another failed probe.
                report(false);
                return;
            }
            Run run = new Run();
            run.future = workers.submit(() -> {
                run.started = true;
                try {
                    boolean ok;
                    try {
                        probe.probe();
                        ok = true;
                    } catch (Exception e) {
                        log.debug("health probe of backend {} failed", member.name(), e);
                        ok = false;
                    }
                    if (run.reported.compareAndSet(false, true)) {
                        report(ok);
                    }
                } finally {
                    run.finished = true;
                }
            });
            last.set(run);
            // A no-op when the probe has answered in time.
            scheduler.schedule(() -> {
                if (run.reported.compareAndSet(false, true)) {
                    log.debug("health probe of backend {} timed out after {} ms",
                            member.name(), TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
                    report(false);
                    run.future.cancel(true);
                }
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }

        /** Hands an outcome to the member, unless the prober is closed. */
        private void report(boolean ok) {
            synchronized (lock) {
                if (!closed) {
                    member.probed(ok);
                }
            }
        }
    }

    /** One probe in flight; {@code reported} lets the probe or its timeout, whichever is first, report. */
    private static final class Run {
        final AtomicBoolean reported = new AtomicBoolean();
        volatile Future<?> future;
        volatile boolean started;
        volatile boolean finished;

        /**
         * Whether the probe still holds its thread. Not the future's {@code isDone()}: that is
         * true as soon as a timed-out probe is cancelled, even if it ignores the interrupt.
         */
        boolean busy() {
            return started ? !finished : !future.isDone();
        }
    }

    private static ThreadFactory daemonThreads(String name, boolean numbered) {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, numbered ? name + count.incrementAndGet() : name);
            t.setDaemon(true);
            return t;
        };
    }
}
