package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * One resumable (tus) upload in progress, as the ledger keeps it between requests and
 * across restarts.
 *
 * @param id       the upload's id, as in its URL
 * @param node     the gateway that holds its partial bytes
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
 */
public record ResumableUpload(String id, String node, String user, String path, long length, long offset,
                              String metadata, Instant created, Instant expires, Instant finished) {

    public ResumableUpload {
        if (length < 0 || offset < 0 || offset > length) {
            throw new IllegalArgumentException("offset " + offset + " of length " + length);
        }
    }

    public ResumableUpload at(long newOffset) {
        return new ResumableUpload(id, node, user, path, length, newOffset, metadata, created, expires, finished);
    }

    public ResumableUpload finishedAt(Instant at) {
        return new ResumableUpload(id, node, user, path, length, offset, metadata, created, expires, at);
    }

    public boolean isFinished() {
        return finished != null;
    }
}
