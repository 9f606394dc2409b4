package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where one request body goes. All methods run on one thread at a time, in order, on the
 * blocking pool, so they may block on storage.
 */
interface UploadTarget {

    /** Takes all remaining bytes of {@code chunk}. */
    void write(ByteBuffer chunk) throws IOException;

    /**
     * True when a write of {@code bytes} now would not wait (see {@link
     * org.transfergateway.storage.Upload#takesWithoutWaiting(int)}): the chunk may then
     * be written on the event loop, when nothing else of this body is still queued.
     */
    default boolean takesWithoutWaiting(int bytes) {
        return false;
    }

    /** The body ended: commit and say what to answer. */
    FullHttpResponse finish() throws IOException;

    /** The upload failed or was cut off: leave nothing behind. Never throws. */
    void abort();
}
