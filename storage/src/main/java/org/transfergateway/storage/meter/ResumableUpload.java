package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * One resumable (tus) upload in progress, as the ledger keeps it between requests and
 * across restarts.
 *
 * @param id       the upload's id, as in its URL
 * @param node     the gateway that created it, which holds its partial bytes unless they are staged
 * @param user     the user who created it; only that user may see or change it
 * @param path     the user path the file appears at once complete
 * @param length   the size announced at creation (Upload-Length)
 * @param offset   the bytes received and made durable so far
 * @param metadata the Upload-Metadata header as the client sent it ("" when none)
 * @param created  when it was created
 * @param expires  when it expires (a finished one is then forgotten)
 * @param finished when its file was committed at its path; null until then. A finished
 *                 upload is kept until it expires, so that a client that lost the last
 *                 answer learns from the offset that it is done
 * @param staged   the backend's state of the upload it keeps ({@link org.transfergateway.storage.StagedUpload#state()}),
 *                 or null when the partial bytes are in a part file of {@code node}
 * @param digestState the running SHA-256 of the bytes up to {@code offset}, as text, or null (part file)
 */
public record ResumableUpload(String id, String node, String user, String path, long length, long offset,
                              String metadata, Instant created, Instant expires, Instant finished, String staged,
                              String digestState) {

    public ResumableUpload {
        if (length < 0 || offset < 0 || offset > length) {
            throw new IllegalArgumentException("offset " + offset + " of length " + length);
        }
    }

    /** An upload whose partial bytes are in a part file of {@code node}. */
    public ResumableUpload(String id, String node, String user, String path, long length, long offset,
                           String metadata, Instant created, Instant expires, Instant finished) {
        this(id, node, user, path, length, offset, metadata, created, expires, finished, null, null);
    }

    public ResumableUpload at(long newOffset) {
        return new ResumableUpload(id, node, user, path, length, newOffset, metadata, created, expires, finished, staged,
                digestState);
    }

    /** At {@code newOffset}, with the backend's state and the running digest recorded with it. */
    public ResumableUpload at(long newOffset, String newStaged, String newDigestState) {
        return new ResumableUpload(id, node, user, path, length, newOffset, metadata, created, expires, finished, newStaged,
                newDigestState);
    }

    public ResumableUpload finishedAt(Instant at) {
        return new ResumableUpload(id, node, user, path, length, offset, metadata, created, expires, at, staged,
                digestState);
    }

    /** True when the backend keeps the partial bytes: any node may continue the upload. */
    public boolean isStaged() {
        return staged != null;
    }

    public boolean isFinished() {
        return finished != null;
    }
}
