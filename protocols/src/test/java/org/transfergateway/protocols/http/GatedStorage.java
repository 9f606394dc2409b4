package org.transfergateway.protocols.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.chain.ForwardingStorage;
import org.transfergateway.storage.chain.ForwardingUpload;

/**
 * A backend whose upload writes block until a gate opens, as S3 writes block when the
 * shared memory budget is spent; or fail with a plain IOException, as a backend that
 * went away does.
 */
final class GatedStorage extends ForwardingStorage {
    private final CountDownLatch gate;
    private final boolean fail;

    GatedStorage(Storage backend, CountDownLatch gate, boolean fail) {
        super(backend);
        this.gate = gate;
        this.fail = fail;
    }

    @Override
    public Upload create(String key) throws IOException {
        return gated(next.create(key));
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return gated(next.create(key, size));
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return gated(next.createContinuing(key, keep));
    }

    private Upload gated(Upload upload) {
        return new ForwardingUpload(upload) {
            @Override
            public void write(ByteBuffer src) throws IOException {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
                if (fail) {
                    throw new IOException("connection to the backend was reset");
                }
                next.write(src);
            }
        };
    }

    /** The test's backend is this storage's own. */
    @Override
    public void close() throws IOException {
        next.close();
    }
}
