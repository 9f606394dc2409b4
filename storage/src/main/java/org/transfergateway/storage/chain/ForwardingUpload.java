package org.transfergateway.storage.chain;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;

/**
 * An {@link Upload} that hands every call to the one it wraps; the upload-side half of
 * {@link ForwardingStorage}. The journal of backend uploads reaches the wrapped one, so
 * a multipart upload stays recorded whatever decorates it.
 */
public class ForwardingUpload implements JournaledUpload {
    protected final Upload next;

    protected ForwardingUpload(Upload next) {
        this.next = next;
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        next.write(src);
    }

    @Override
    public long written() {
        return next.written();
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        return next.takesWithoutWaiting(bytes);
    }

    @Override
    public ObjectInfo commit() throws IOException {
        return next.commit();
    }

    @Override
    public boolean commitWithModified(java.time.Instant time) {
        return next.commitWithModified(time);
    }

    @Override
    public void recorded() {
        next.recorded();
    }

    @Override
    public void abort() {
        next.abort();
    }

    @Override
    public void journalTo(UploadJournal journal) {
        if (next instanceof JournaledUpload j) {
            j.journalTo(journal);
        }
    }
}
