package org.transfergateway.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An upload that the backend keeps unfinished between requests and across restarts, and
 * that any gateway continues from the text of its state ({@link Storage#stage}): on S3 one
 * multipart upload at the object's key, and the tail below one part in a small side
 * object under a prefix outside every user's home. Nothing is visible at the key before
 * {@link #commit()}.
 *
 * <p>One request at a time uses an instance: {@link #write} takes its bytes, {@link #save()}
 * makes them durable and gives the state to record, and {@link #release()} ends the
 * request's use of it. The state of the last save stays valid until its successor is
 * recorded and {@link #saved()} called, so that whatever the ledger holds after a crash
 * can be continued; bytes written after it are written again by the client.
 */
public interface StagedUpload {

    /** The object's key, as given to {@link Storage#stage}. */
    String key();

    /** The bytes staged so far, those written since the last save included. */
    long size();

    /** Takes all remaining bytes of {@code src}; full parts go to the backend as they fill. */
    void write(ByteBuffer src) throws IOException;

    /**
     * Makes every byte written durable on the backend; the state to record with
     * {@link #size()}. The previous state stays valid until {@link #saved()}.
     */
    String save() throws IOException;

    /** The ledger recorded the last save's state: what only the earlier states needed goes. Never throws. */
    void saved();

    /** Ends a request's use: memory held goes back; bytes written since the last save are dropped. Never throws. */
    void release();

    /**
     * Makes the object visible at the key with every byte staged, written since the last
     * save included. On failure nothing is visible and the upload can be committed again
     * from its recorded state.
     */
    ObjectInfo commit() throws IOException;

    /** Discards the upload and everything it kept on the backend. Idempotent. */
    void abort() throws IOException;
}
