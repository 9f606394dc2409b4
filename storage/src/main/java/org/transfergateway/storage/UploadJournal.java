package org.transfergateway.storage;

import java.io.IOException;

/**
 * Told of the uploads a backend holds open between their first part and their commit or
 * abort (S3 multipart uploads), which a crash would otherwise leave behind unknown.
 */
public interface UploadJournal {

    /**
     * The backend opened {@code uploadId} for the object it names {@code key}. Returns
     * once that is durable; the upload sends no part before. A throw fails the upload.
     */
    void opened(String key, String uploadId) throws IOException;

    /** The upload was completed or aborted: nothing of it is left. Fast; never throws. */
    void closed(String key, String uploadId);

    /**
     * This journal, recording the uploads as held by the backend {@code backend}: a pool
     * opens its uploads on its members, and recovery must abort them there.
     */
    default UploadJournal on(String backend) {
        return this;
    }
}
