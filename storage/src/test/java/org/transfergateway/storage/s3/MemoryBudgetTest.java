package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The shared memory budget: blocking when spent, reuse, and never more than its capacity. */
class MemoryBudgetTest {
    private static final int PART = 1024;

    @Test
    void aWriterBlocksWhileTwoPartsAreInFlightAndContinuesWhenOneFinishes() throws Exception {
        MemoryBudget budget = new MemoryBudget(2 * PART);
        ByteBuffer first = budget.acquire(PART);
        budget.acquire(PART);
        CompletableFuture<ByteBuffer> third = CompletableFuture.supplyAsync(() -> {
            try {
                return budget.acquire(PART);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        // The part uploads are "slow": the writer waits instead of failing.
        assertThrows(TimeoutException.class, () -> third.get(300, TimeUnit.MILLISECONDS));
        assertEquals(2 * PART, budget.inUseBytes());

        budget.release(first);
        ByteBuffer granted = third.get(5, TimeUnit.SECONDS);
        assertSame(first, granted, "the released buffer is reused");
        assertEquals(0, granted.position());
        assertEquals(2 * PART, budget.inUseBytes());
    }

    @Test
    void aBlockedWriterCanBeInterrupted() throws Exception {
        MemoryBudget budget = new MemoryBudget(PART);
        budget.acquire(PART);
        Thread waiting = new Thread(() -> assertThrows(InterruptedException.class, () -> budget.acquire(PART)));
        waiting.start();
        Thread.sleep(100);
        waiting.interrupt();
        waiting.join(5_000);
        assertTrue(!waiting.isAlive());
    }

    @Test
    void pooledBuffersOfAnotherSizeAreDroppedToMakeRoom() throws Exception {
        MemoryBudget budget = new MemoryBudget(3 * PART);
        budget.release(budget.acquire(PART));
        budget.release(budget.acquire(PART / 2));
        // 1.5 parts pooled: a 3-part buffer needs all of them dropped, and must not wait.
        ByteBuffer big = budget.acquire(3 * PART);
        assertEquals(3 * PART, big.capacity());
        assertEquals(0, budget.availableBytes());
    }

    @Test
    void aBufferLargerThanTheWholeBudgetIsRefusedRatherThanWaitedFor() {
        MemoryBudget budget = new MemoryBudget(PART);
        assertThrows(IllegalArgumentException.class, () -> budget.acquire(PART + 1));
    }

    @Test
    void manyThreadsNeverHoldMoreThanTheBudget() throws Exception {
        MemoryBudget budget = new MemoryBudget(3 * PART);
        Thread[] threads = new Thread[6];
        long[] maxSeen = new long[1];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    try {
                        ByteBuffer b = budget.acquire(i % 2 == 0 ? PART : PART / 2);
                        synchronized (maxSeen) {
                            maxSeen[0] = Math.max(maxSeen[0], budget.inUseBytes());
                        }
                        budget.release(b);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertTrue(maxSeen[0] <= 3 * PART, "in use at most the budget, saw " + maxSeen[0]);
        assertEquals(0, budget.inUseBytes());
    }
}
