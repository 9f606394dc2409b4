package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The prober against probes the test controls. Every timing assertion waits on a condition
 * with a 10 s deadline (generous for a loaded machine; a pass takes milliseconds); that some
 * interval has passed is shown by counting another member's probes, never by sleeping.
 */
class HealthProberTest {
    private static final Duration INTERVAL = Duration.ofMillis(20);
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    private static void await(String what, BooleanSupplier condition) {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("not within " + DEADLINE + ": " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(1); // polling a condition, not timing
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    /** A probe that counts its runs, so a test can see intervals pass. */
    private static HealthProber.Probe counting(AtomicInteger runs) {
        return runs::incrementAndGet;
    }

    @Test
    void aFailedProbeMakesAMemberUnhealthyAndASuccessfulOneHealthyAgain() {
        Member m = new Member("s3-a", 1);
        AtomicBoolean up = new AtomicBoolean(true);
        AtomicInteger runs = new AtomicInteger();
        try (HealthProber prober = new HealthProber(INTERVAL)) {
            prober.add(m, () -> {
                runs.incrementAndGet();
                if (!up.get()) {
                    throw new IOException("connection refused");
                }
            });
            await("a first probe", () -> runs.get() >= 1);
            assertTrue(m.healthy());

            up.set(false);
            await("unhealthy after a failed probe", () -> !m.healthy());
            up.set(true);
            await("healthy after a successful probe", m::healthy);
        }
        assertEquals(0, m.errors(), "probes are not counted as operation errors");
    }

    @Test
    void aProbeRevivesAMemberThatFailedOperations() {
        Member m = new Member("s3-a", 1);
        m.failed();
        m.failed();
        m.failed();
        assertFalse(m.healthy());
        try (HealthProber prober = new HealthProber(INTERVAL)) {
            prober.add(m, () -> { });
            await("healthy after a successful probe", m::healthy);
        }
    }

    @Test
    void aHangingProbeCountsAsFailedAndHoldsOneThreadOnly() throws InterruptedException {
        Member hanging = new Member("s3-hangs", 1);
        Member fine = new Member("s3-fine", 1);
        AtomicInteger entered = new AtomicInteger();
        AtomicInteger fineRuns = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        try (HealthProber prober = new HealthProber(INTERVAL)) {
            prober.add(hanging, () -> {
                entered.incrementAndGet();
                // A backend that never answers and ignores the interrupt of its timeout.
                while (release.getCount() > 0) {
                    try {
                        release.await();
                    } catch (InterruptedException ignored) {
                        // keeps hanging
                    }
                }
            });
            prober.add(fine, counting(fineRuns));

            await("unhealthy once the probe timed out", () -> !hanging.healthy());
            int seen = fineRuns.get();
            await("five more intervals", () -> fineRuns.get() >= seen + 5);
            assertEquals(1, entered.get(), "no second probe while the first one hangs");
            assertTrue(fine.healthy(), "the other member's probes were not held up");
            assertFalse(hanging.healthy());

            release.countDown();
            await("healthy once the backend answers again", hanging::healthy);
            assertTrue(entered.get() >= 2);
        } finally {
            release.countDown();
        }
    }

    @Test
    void closeStopsProbing() {
        Member m = new Member("s3-a", 1);
        AtomicInteger runs = new AtomicInteger();
        HealthProber prober = new HealthProber(INTERVAL);
        prober.add(m, counting(runs));
        await("a first probe", () -> runs.get() >= 1);
        prober.close();
        int atClose = runs.get();
        m.probed(false);

        AtomicInteger otherRuns = new AtomicInteger();
        try (HealthProber other = new HealthProber(INTERVAL)) {
            other.add(new Member("s3-b", 1), counting(otherRuns));
            await("five intervals on another prober", () -> otherRuns.get() >= 5);
        }
        assertEquals(atClose, runs.get(), "no probe after close");
        assertFalse(m.healthy(), "no outcome reported after close");
        assertThrows(IllegalStateException.class, () -> prober.add(m, () -> { }));
    }

    @Test
    void badIntervalsAndTimeoutsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new HealthProber(Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> new HealthProber(Duration.ofSeconds(1), Duration.ofSeconds(2)));
        assertThrows(IllegalArgumentException.class,
                () -> new HealthProber(Duration.ofSeconds(1), Duration.ZERO));
    }
}
