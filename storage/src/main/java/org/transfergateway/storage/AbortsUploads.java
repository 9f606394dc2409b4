package org.transfergateway.storage;

import java.io.IOException;

/** A backend that can abort an upload an {@link UploadJournal} recorded, e.g. after a crash. */
public interface AbortsUploads {

    /**
     * Aborts the upload {@code uploadId} of {@code key} (as {@link UploadJournal#opened}
     * named them). Returns true when it is gone, also when it was gone already; throws
     * when the backend could not be asked.
     */
    boolean abortUpload(String key, String uploadId) throws IOException;
}
