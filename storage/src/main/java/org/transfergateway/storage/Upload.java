package org.transfergateway.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An object being written. Bytes go in with {@link #write}; the object becomes visible
 * only when {@link #commit()} returns. {@link #abort()} or a {@link #close()} without a
 * commit discards everything written, so a failed transfer leaves nothing behind.
 *
 * <p>One thread at a time writes. {@link #write} may block while the backend catches up
 * or while the shared memory budget is spent: that is the backpressure that stops the
 * caller from reading more from its client.
 */
public interface Upload extends Closeable {

    /** Takes all remaining bytes of {@code src}; its position ends at its limit. */
    void write(ByteBuffer src) throws IOException;

    default void write(byte[] bytes, int offset, int length) throws IOException {
        write(ByteBuffer.wrap(bytes, offset, length));
    }

    /** The bytes taken so far. */
    long written();

    /**
     * True when a {@link #write} of {@code bytes} now would only copy them (into a local
     * file's page cache, or a buffer the upload already holds) and not wait on a network
     * or the memory budget, so that a front end may call it from an event loop instead of
     * handing the chunk to a thread. A write that fails still never waits.
     */
    default boolean takesWithoutWaiting(int bytes) {
        return false;
    }

    /**
     * Makes the object visible with everything written, once the backend has confirmed
     * all of it. On failure nothing is visible and the upload is aborted.
     */
    ObjectInfo commit() throws IOException;

    /**
     * Asks that the object be committed with {@code time} as its modification time, kept
     * as {@link Storage#setModified} keeps it, in the commit itself: no moment exists where
     * the new object shows another time. Called before the first write. False when this
     * upload cannot, and the caller then sets the time once the commit has returned.
     */
    default boolean commitWithModified(java.time.Instant time) {
        return false;
    }

    /**
     * Called once the ledger has recorded this upload's commit: a pool then removes the
     * copies of the object it replaced on other members, which the ledger no longer
     * names. Never throws.
     */
    default void recorded() {
    }

    /** Discards the upload. Idempotent; never throws; a no-op after a commit. */
    void abort();

    /** Aborts unless committed. */
    @Override
    default void close() {
        abort();
    }
}
