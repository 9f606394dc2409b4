package org.transfergateway.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The backend's end of {@link Storage#createStaged}: an upload whose bytes were staged
 * before, committed as one. An abort leaves the staged upload as it is, so that its owner
 * may commit it again or discard it.
 */
final class StagedCommit implements Upload {
    private final StagedUpload staged;

    StagedCommit(StagedUpload staged) {
        this.staged = staged;
    }

    @Override
    public void write(ByteBuffer src) {
        throw new IllegalStateException("a staged upload takes its bytes before its commit");
    }

    @Override
    public long written() {
        return staged.size();
    }

    @Override
    public ObjectInfo commit() throws IOException {
        return staged.commit();
    }

    @Override
    public void abort() {
    }
}
