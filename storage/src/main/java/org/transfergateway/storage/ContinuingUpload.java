package org.transfergateway.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.transfergateway.storage.chain.ForwardingUpload;

/**
 * The default {@link Storage#createContinuing}: copies the first {@code keep} bytes of the
 * stored object into a new upload before the first byte written after them (or at the
 * commit when nothing follows). Lazy so that the journal is set before any backend upload
 * the kept bytes may open.
 */
final class ContinuingUpload extends ForwardingUpload {
    private final Storage storage;
    private final String key;
    private final long keep;
    private boolean copied;

    ContinuingUpload(Storage storage, String key, long keep, Upload upload) {
        super(upload);
        this.storage = storage;
        this.key = key;
        this.keep = keep;
    }

    private void copyKept() throws IOException {
        if (copied) {
            return;
        }
        copied = true;
        try (InputStream in = storage.read(key, 0, keep)) {
            if (in == null) {
                throw ErrorCode.NOT_FOUND.exception("the file to continue is gone");
            }
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) >= 0; ) {
                next.write(buf, 0, n);
            }
        }
        if (next.written() != keep) {
            throw ErrorCode.CONFLICT.exception("the file to continue changed: " + next.written() + " of " + keep + " bytes kept");
        }
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        copyKept();
        next.write(src);
    }

    /** The kept bytes count from the start, copied yet or not. */
    @Override
    public long written() {
        return copied ? next.written() : keep + next.written();
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        return copied && next.takesWithoutWaiting(bytes);
    }

    @Override
    public ObjectInfo commit() throws IOException {
        copyKept();
        return next.commit();
    }
}
