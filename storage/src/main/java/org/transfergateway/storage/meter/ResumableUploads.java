package org.transfergateway.storage.meter;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * The state of resumable (tus) uploads, kept by the ledger so that an upload resumes after
 * the client reconnects and after the gateway restarts. Every change returns once durable.
 */
public interface ResumableUploads {

    /** Records a new upload. */
    void createUpload(ResumableUpload upload) throws IOException;

    /** The upload {@code id}, or null when there is none (never created, finished or removed). */
    ResumableUpload upload(String id) throws IOException;

    /**
     * Moves the upload's offset from {@code from} to {@code to}; false (and no change) when
     * the upload is gone or its offset is no longer {@code from}.
     */
    boolean advanceUpload(String id, long from, long to) throws IOException;

    /**
     * Like {@link #advanceUpload(String, long, long)} for a staged upload, recording with the
     * new offset the backend's state and the running digest that go with it ({@code from}
     * may equal {@code to}). The offset is the compare-and-set that keeps two requests, on
     * any nodes, from both moving it.
     */
    boolean advanceUpload(String id, long from, long to, String staged, String digestState) throws IOException;

    /** Marks the complete upload as committed; false when it is gone or was marked already. */
    boolean finishUpload(String id, Instant at) throws IOException;

    /** Forgets the upload; false when there was none. */
    boolean removeUpload(String id) throws IOException;

    /**
     * The uploads that expired before {@code now}, finished or not, at most {@code limit}:
     * those of {@code node}, and the staged ones of any node (their bytes are on the backend).
     */
    List<ResumableUpload> expiredUploads(String node, Instant now, int limit) throws IOException;
}
