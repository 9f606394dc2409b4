package org.transfergateway.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An upload held to the size announced for it ({@link Storage#create(String, long)}): a
 * write past that size, or a commit short of it, fails with {@link ErrorCode#BAD_REQUEST}
 * and aborts the upload. For backends that cannot hold a body to its size themselves.
 */
public class SizedUpload implements Upload {
    private final Upload upload;
    private final long size;

    SizedUpload(Upload upload, long size) {
        this.upload = upload;
        this.size = size;
    }

    /** {@code upload} held to {@code size}; a {@link JournaledUpload} stays one. */
    public static Upload of(Upload upload, long size) {
        return upload instanceof JournaledUpload j ? new Journaled(j, size) : new SizedUpload(upload, size);
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        if (upload.written() + src.remaining() > size) {
            upload.abort();
            throw ErrorCode.BAD_REQUEST.exception("the body is longer than the " + size + " bytes announced");
        }
        upload.write(src);
    }

    @Override
    public long written() {
        return upload.written();
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        return upload.takesWithoutWaiting(bytes);
    }

    @Override
    public ObjectInfo commit() throws IOException {
        long written = upload.written();
        if (written != size) {
            upload.abort();
            throw ErrorCode.BAD_REQUEST.exception("the body ended after " + written + " of the " + size + " bytes announced");
        }
        return upload.commit();
    }

    @Override
    public boolean commitWithModified(java.time.Instant time) {
        return upload.commitWithModified(time);
    }

    @Override
    public void abort() {
        upload.abort();
    }

    @Override
    public void close() {
        upload.close();
    }

    private static final class Journaled extends SizedUpload implements JournaledUpload {
        private final JournaledUpload upload;

        Journaled(JournaledUpload upload, long size) {
            super(upload, size);
            this.upload = upload;
        }

        @Override
        public void journalTo(UploadJournal journal) {
            upload.journalTo(journal);
        }
    }
}
