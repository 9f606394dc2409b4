package org.transfergateway.storage;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The server-side copies of the bytes an append keeps (S3 UploadPartCopy, Azure Put
 * Block From URL), run on the backend's executor a few at once and apart from the parts
 * of new bytes, so that the writer never waits for them: a large object takes many.
 * Each copy records its own failure; {@link #await()} returns once none is running.
 */
public final class KeptCopies {
    private final Future<?> all;

    private KeptCopies(Future<?> all) {
        this.all = all;
    }

    /**
     * Starts {@code copy} for each item, at most {@code concurrency} at once, until
     * {@code stop} says the upload failed or was aborted. An item the executor refuses
     * goes to {@code refused} and ends the copies.
     */
    public static <T> KeptCopies start(ExecutorService executor, int concurrency, List<T> items, BooleanSupplier stop,
                                       Consumer<T> copy, BiConsumer<T, RuntimeException> refused) {
        return new KeptCopies(executor.submit(() -> {
            Semaphore running = new Semaphore(concurrency);
            try {
                for (T item : items) {
                    if (stop.getAsBoolean()) {
                        return;
                    }
                    running.acquireUninterruptibly();
                    try {
                        executor.execute(() -> {
                            try {
                                copy.accept(item);
                            } finally {
                                running.release();
                            }
                        });
                    } catch (RuntimeException e) {
                        running.release();
                        refused.accept(item, e);
                        return;
                    }
                }
            } finally {
                running.acquireUninterruptibly(concurrency);
            }
        }));
    }

    /** Waits, not interruptibly, until no copy is running (an interrupt is kept for the caller). */
    public void await() {
        boolean interrupted = false;
        while (true) {
            try {
                all.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | CancellationException e) {
                break; // each copy records its failure itself
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
