package org.transfergateway.storage.gcs;

import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage.BlobSourceOption;
import com.google.cloud.storage.Storage.BlobTargetOption;
import com.google.cloud.storage.Storage.ComposeRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UploadJournal;

/**
 * An upload that continues a whole stored GCS object (FTP APPE, REST + STOR at its end)
 * without reading it back: the new bytes go as a temporary object under
 * {@link #TEMPORARY_FOLDER}, and the commit composes [stored object, temporary] into the
 * object's name, on condition that the stored generation is still the one measured when
 * the upload began (a newer upload meanwhile makes it CONFLICT), then deletes the
 * temporary. Whatever fails, the temporary is deleted and the stored object is unchanged.
 * {@link #written()} counts the kept bytes too, as every continuing upload does.
 */
final class ComposedAppend implements JournaledUpload {
    private static final Logger log = LoggerFactory.getLogger(GcsStorage.class);
    /** Where the new bytes wait for their compose, apart from every user's files. */
    static final String TEMPORARY_FOLDER = ".gateway-appends";

    private final GcsBucket gcs;
    private final String key;
    private final long keep;
    private final long generation;
    private final String temporaryKey;
    private final ResumableUpload part;
    private boolean done;

    /** Continues the object {@code key} of {@code keep} bytes as its generation {@code generation} holds them. */
    ComposedAppend(GcsBucket gcs, String key, long keep, long generation) {
        this.gcs = gcs;
        this.key = key;
        this.keep = keep;
        this.generation = generation;
        this.temporaryKey = TEMPORARY_FOLDER + "/" + UUID.randomUUID();
        this.part = new ResumableUpload(gcs, temporaryKey, -1);
    }

    @Override
    public void journalTo(UploadJournal journal) {
        part.journalTo(journal);
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        part.write(src);
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        return part.takesWithoutWaiting(bytes);
    }

    @Override
    public long written() {
        return keep + part.written();
    }

    @Override
    public synchronized ObjectInfo commit() throws IOException {
        if (done) {
            throw new IOException("the upload of " + key + " is already finished");
        }
        done = true;
        ObjectInfo added = part.commit(); // the temporary object, visible under its own name only
        Long addedGeneration = added.etag() != null && added.etag().matches("\\d+") ? Long.valueOf(added.etag()) : null;
        try {
            ComposeRequest.Builder request = ComposeRequest.newBuilder().addSource(gcs.full(key), generation);
            if (addedGeneration != null) {
                request.addSource(gcs.full(temporaryKey), addedGeneration);
            } else {
                request.addSource(gcs.full(temporaryKey));
            }
            Blob composed = gcs.client.compose(request
                    .setTarget(BlobInfo.newBuilder(gcs.bucket, gcs.full(key)).build())
                    .setTargetOptions(BlobTargetOption.generationMatch(generation))
                    .build());
            log.debug("{}: appended {} bytes to {} by compose", gcs.name, added.size(), key);
            return GcsBucket.info(key, composed);
        } catch (RuntimeException e) {
            if (GcsErrors.isStatus(e, 412) || GcsErrors.isStatus(e, 404)) {
                throw ErrorCode.CONFLICT.exception("the file to continue changed while the upload ran");
            }
            throw gcs.failure("appending to " + key, e);
        } finally {
            deleteTemporary(addedGeneration);
        }
    }

    private void deleteTemporary(Long addedGeneration) {
        try {
            if (addedGeneration == null) {
                gcs.client.delete(BlobId.of(gcs.bucket, gcs.full(temporaryKey)));
            } else {
                gcs.client.delete(BlobId.of(gcs.bucket, gcs.full(temporaryKey), addedGeneration),
                        BlobSourceOption.generationMatch(addedGeneration));
            }
        } catch (RuntimeException e) {
            log.warn("{}: the temporary object {} of an append to {} could not be deleted: {}", gcs.name,
                    gcs.full(temporaryKey), key, e.toString());
        }
    }

    @Override
    public synchronized void abort() {
        done = true;
        part.abort(); // nothing of the temporary is visible before its commit
    }
}
