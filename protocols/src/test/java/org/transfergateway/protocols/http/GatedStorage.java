package org.transfergateway.protocols.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;

/**
 * A backend whose upload writes block until a gate opens, as S3 writes block when the
 * shared memory budget is spent; or fail with a plain IOException, as a backend that
 * went away does.
 */
final class GatedStorage implements Storage {
    private final Storage backend;
    private final CountDownLatch gate;
    private final boolean fail;

    GatedStorage(Storage backend, CountDownLatch gate, boolean fail) {
        this.backend = backend;
        this.gate = gate;
        this.fail = fail;
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        return backend.stat(key);
    }

    @Override
    public Upload create(String key) throws IOException {
        Upload upload = backend.create(key);
        return new Upload() {
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
                upload.write(src);
            }

            @Override
            public long written() {
                return upload.written();
            }

            @Override
            public ObjectInfo commit() throws IOException {
                return upload.commit();
            }

            @Override
            public void abort() {
                upload.abort();
            }
        };
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        return backend.read(key, offset, length);
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        return backend.list(dirKey);
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        backend.walk(dirKey, sink);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return backend.delete(key);
    }

    @Override
    public void move(String from, String to) throws IOException {
        backend.move(from, to);
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        backend.makeFolder(dirKey);
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        return backend.removeFolder(dirKey);
    }

    @Override
    public void close() throws IOException {
        backend.close();
    }
}
