package org.transfergateway.storage;

import java.io.IOException;
import java.time.Instant;

/**
 * An optional ability of a {@link Storage}: setting the modification time of an object, so
 * that a client that copies files (rclone, lftp's mirror) keeps their original times. A
 * backend that cannot keep a time that its own listings then report does not offer it.
 */
public interface ModifiedTimes {
    /**
     * Sets the modification time of the object {@code key} as {@link Storage#stat} and
     * {@link Storage#list} report it; {@link ErrorCode#NOT_FOUND} when there is none.
     */
    void setModified(String key, Instant time) throws IOException;
}
