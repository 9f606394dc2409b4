package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** A member's health, counters and latency quantiles. */
class MemberTest {
    private static final long MS = 1_000_000;

    @Test
    void threeConsecutiveFailuresMakeAMemberUnhealthy() {
        Member m = new Member("s3-a", 1);
        m.failed();
        m.failed();
        assertTrue(m.healthy());
        m.failed();
        assertFalse(m.healthy());
        assertEquals(3, m.errors());
    }

    @Test
    void aSuccessBetweenFailuresStartsTheCountAfresh() {
        Member m = new Member("s3-a", 1);
        m.failed();
        m.failed();
        m.succeeded(MS);
        m.failed();
        m.failed();
        assertTrue(m.healthy(), "two in a row since the success");
        m.failed();
        assertFalse(m.healthy());
        assertEquals(5, m.errors(), "errors count every failure, in a row or not");
    }

    @Test
    void theThresholdIsConfigurable() {
        Member m = new Member("s3-a", 1, 1);
        m.failed();
        assertFalse(m.healthy());
    }

    @Test
    void aFailedProbeMakesAMemberUnhealthyAtOnce() {
        Member m = new Member("s3-a", 1);
        m.probed(false);
        assertFalse(m.healthy());
        assertEquals(0, m.errors(), "a probe is not an operation");
    }

    @Test
    void aSuccessfulProbeMakesItHealthyAgainAndStartsTheCountAfresh() {
        Member m = new Member("s3-a", 1);
        m.failed();
        m.failed();
        m.failed();
        assertFalse(m.healthy());
        m.probed(true);
        assertTrue(m.healthy());
        m.failed();
        m.failed();
        assertTrue(m.healthy(), "the count restarted at the probe");
        m.failed();
        assertFalse(m.healthy());
    }

    @Test
    void aSuccessfulOperationDoesNotReviveAnUnhealthyMember() {
        Member m = new Member("s3-a", 1);
        m.probed(false);
        m.succeeded(MS);
        assertFalse(m.healthy(), "only a probe brings a member back");
    }

    @Test
    void latencyQuantilesAreExactOnAKnownSet() {
        Member m = new Member("s3-a", 1);
        List<Long> millis = new ArrayList<>();
        for (long i = 1; i <= 100; i++) {
            millis.add(i);
        }
        Collections.shuffle(millis, new Random(7)); // the order of arrival does not matter
        millis.forEach(ms -> m.succeeded(ms * MS));
        // Nearest rank over 1..100 ms: the q-quantile is ceil(100 q) ms.
        assertEquals(50.0, m.latencyMillis(0.5));
        assertEquals(99.0, m.latencyMillis(0.99));
        assertEquals(7.0, m.latencyMillis(0.07), "0.07 * 100 is 7.000000000000001 in doubles");
        assertEquals(1.0, m.latencyMillis(0));
        assertEquals(100.0, m.latencyMillis(1));
    }

    @Test
    void latencyKeepsMillisecondFractions() {
        Member m = new Member("s3-a", 1);
        m.succeeded(1_500_000);
        assertEquals(1.5, m.latencyMillis(0.5));
    }

    @Test
    void latencyIsZeroWithoutSamples() {
        Member m = new Member("s3-a", 1);
        assertEquals(0.0, m.latencyMillis(0.5));
        assertEquals(0.0, m.latencyMillis(0.99));
        m.failed();
        assertEquals(0.0, m.latencyMillis(0.99), "failures are not latency samples");
    }

    @Test
    void latencyCoversOnlyTheLast1024Operations() {
        Member m = new Member("s3-a", 1);
        for (int i = 0; i < Member.LATENCY_WINDOW; i++) {
            m.succeeded(60_000 * MS); // a slow minute, then forgotten
        }
        for (long i = 1; i <= Member.LATENCY_WINDOW; i++) {
            m.succeeded(i * MS);
        }
        assertEquals(512.0, m.latencyMillis(0.5));
        assertEquals(1014.0, m.latencyMillis(0.99)); // ceil(0.99 * 1024) = 1014
        assertEquals(1024.0, m.latencyMillis(1));
    }

    @Test
    void quantilesOutsideZeroToOneAreRefused() {
        Member m = new Member("s3-a", 1);
        assertThrows(IllegalArgumentException.class, () -> m.latencyMillis(1.5));
        assertThrows(IllegalArgumentException.class, () -> m.latencyMillis(-0.1));
        assertThrows(IllegalArgumentException.class, () -> m.latencyMillis(Double.NaN));
    }

    @Test
    void storedAndOutstandingBytesAddUp() {
        Member m = new Member("s3-a", 1);
        m.setStoredBytes(1000);
        assertEquals(1500, m.addStoredBytes(500));
        assertEquals(1200, m.addStoredBytes(-300));
        assertEquals(1200, m.storedBytes());
        assertEquals(10, m.addOutstandingBytes(10));
        assertEquals(4, m.subtractOutstandingBytes(6));
        assertEquals(4, m.outstandingBytes());
    }

    @Test
    void concurrentTransfersLeaveExactCounts() throws InterruptedException {
        Member m = new Member("s3-a", 1);
        int threads = 4;
        int perThread = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    m.addOutstandingBytes(7);
                    m.addStoredBytes(7);
                    m.succeeded(5 * MS);
                    m.subtractOutstandingBytes(7);
                }
            });
            thread.start();
            running.add(thread);
        }
        start.countDown();
        for (Thread thread : running) {
            thread.join();
        }
        assertEquals(0, m.outstandingBytes());
        assertEquals(7L * threads * perThread, m.storedBytes());
        assertEquals(5.0, m.latencyMillis(0.99));
    }

    @Test
    void badWeightsAndThresholdsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Member("s3-a", 0));
        assertThrows(IllegalArgumentException.class, () -> new Member("s3-a", 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Member("", 1));
    }
}
