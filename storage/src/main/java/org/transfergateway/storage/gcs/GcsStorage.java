package org.transfergateway.storage.gcs;

import com.google.api.gax.paging.Page;
import com.google.cloud.ReadChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.CopyWriter;
import com.google.cloud.storage.Storage.BlobListOption;
import com.google.cloud.storage.Storage.BlobSourceOption;
import com.google.cloud.storage.Storage.BlobTargetOption;
import com.google.cloud.storage.Storage.CopyRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.AbortsUploads;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.SizedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * A bucket of Google Cloud Storage, on Google's client library over its JSON API (HTTP,
 * not gRPC). Every key gets the configured prefix in front; keys handed out leave it off
 * again. Folders are name prefixes, made to exist when empty by a zero-byte marker object
 * {@code dir/}, exactly as on S3.
 *
 * <p>Uploads are {@link ResumableUpload}s: chunks from the shared {@link MemoryBudget},
 * visible only with the last one. Reads stream the range through the library's read
 * channel, tied to the object's generation. Renames are a server-side rewrite, repeated
 * with its token until done, then a delete of the source's generation.
 */
public final class GcsStorage implements Storage, AbortsUploads {
    /**
     * The read channel's buffer: the range streams in one request either way, so a small
     * buffer keeps the heap of many downloads at once small.
     */
    private static final int READ_BUFFER = 64 * 1024;
    /** What one rewrite call may copy before it returns with a token: big objects take several calls. */
    private static final long REWRITE_MIB_PER_CALL = 1024;

    private static final Logger log = LoggerFactory.getLogger(GcsStorage.class);
    private final GcsBucket gcs;

    private GcsStorage(GcsBucket gcs) {
        this.gcs = gcs;
    }

    /**
     * Connects to the bucket of {@code cfg} and checks that it answers.
     *
     * @param budget the memory budget shared by all backends that buffer parts
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with one line naming
     *                          the backend, bucket and endpoint
     */
    public static GcsStorage open(GcsBackendConfig cfg, StorageConfig shared, MemoryBudget budget) throws GatewayException {
        GcsStorage storage = new GcsStorage(GcsBucket.connect(cfg, shared, budget));
        storage.deleteAbandonedAppends(shared.abandonedUploadAge());
        return storage;
    }

    /**
     * Deletes the new bytes of appends ({@link ComposedAppend}) that were uploaded more than
     * {@code age} ago and never composed: one stays only when a gateway stopped between an
     * append's upload and its compose, or could not delete it after. They were never part of
     * a file, so nothing is counted; an append in progress holds its temporary for seconds,
     * far below the age (the one for abandoned multipart uploads). A failure is logged, and
     * start-up goes on: the next start tries again.
     *
     * @return how many were deleted
     */
    int deleteAbandonedAppends(java.time.Duration age) {
        Instant before = Instant.now().minus(age);
        int deleted = 0;
        try {
            for (Blob b : gcs.client.list(gcs.bucket, BlobListOption.prefix(gcs.under(ComposedAppend.TEMPORARY_FOLDER)))
                    .iterateAll()) {
                java.time.OffsetDateTime created = b.getCreateTimeOffsetDateTime();
                if (created != null && !created.toInstant().isAfter(before)) {
                    // Only this generation: a name is never reused, but a delete stays exact.
                    gcs.client.delete(BlobId.of(gcs.bucket, b.getName(), b.getGeneration()),
                            BlobSourceOption.generationMatch(b.getGeneration()));
                    deleted++;
                }
            }
        } catch (RuntimeException e) {
            log.warn("{}: the temporary objects of abandoned appends could not be deleted: {}", gcs.name, e.toString());
        }
        if (deleted > 0) {
            log.info("{}: deleted {} temporary object(s) of appends that never reached their compose", gcs.name, deleted);
        }
        return deleted;
    }

    @Override
    public String name() {
        return gcs.name;
    }

    /** The chunk size of uploads, for tests and the start-up log. */
    public int chunkSize() {
        return gcs.chunkSize;
    }

    // ---- reading ----

    @Override
    public ObjectInfo stat(String key) throws IOException {
        if (key.isEmpty()) {
            return ObjectInfo.folder("", Instant.EPOCH);
        }
        ObjectInfo file = gcs.headFile(key);
        if (file != null) {
            return file;
        }
        return isFolder(key) ? ObjectInfo.folder(key, Instant.EPOCH) : null;
    }

    /** True when a marker or any object lies under {@code dirKey/}. */
    boolean isFolder(String dirKey) throws GatewayException {
        if (dirKey.isEmpty()) {
            return true;
        }
        try {
            return gcs.client.list(gcs.bucket, BlobListOption.prefix(gcs.under(dirKey)), BlobListOption.pageSize(1))
                    .getValues().iterator().hasNext();
        } catch (RuntimeException e) {
            throw gcs.failure("listing " + dirKey, e);
        }
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        Blob b = gcs.headBlob(key);
        if (b == null) {
            return null;
        }
        long size = b.getSize() != null ? b.getSize() : 0;
        if (length == 0 || offset >= size) {
            return InputStream.nullInputStream();
        }
        long end = length < 0 ? size : Math.min(size, offset + length);
        try {
            // Tied to this generation: an overwrite meanwhile fails the read instead of mixing two.
            ReadChannel channel = gcs.client.reader(BlobId.of(gcs.bucket, b.getName(), b.getGeneration()));
            channel.setChunkSize(READ_BUFFER);
            channel.seek(offset);
            channel.limit(end);
            return Channels.newInputStream(channel);
        } catch (IOException | RuntimeException e) {
            throw GcsErrors.failure(gcs.name, "reading " + key, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        String dir = gcs.under(dirKey);
        Map<String, ObjectInfo> entries = new TreeMap<>();
        try {
            Page<Blob> page = gcs.client.list(gcs.bucket, BlobListOption.prefix(dir), BlobListOption.currentDirectory());
            for (Blob b : page.iterateAll()) {
                if (appending(b.getName())) {
                    continue;
                }
                if (b.isDirectory()) {
                    entries.put(b.getName(), folder(b.getName()));
                } else if (!b.getName().endsWith("/")) {
                    entries.put(b.getName(), GcsBucket.info(gcs.strip(b.getName()), b));
                }
                // The marker "dir/" lists as an object under its own prefix: the folder itself, left out.
            }
        } catch (RuntimeException e) {
            throw gcs.failure("listing " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
        List<ObjectInfo> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(ObjectInfo::name));
        return out;
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        try {
            for (Blob b : gcs.client.list(gcs.bucket, BlobListOption.prefix(gcs.under(dirKey))).iterateAll()) {
                if (!b.getName().endsWith("/") && !appending(b.getName())) {
                    sink.accept(GcsBucket.info(gcs.strip(b.getName()), b));
                }
            }
        } catch (RuntimeException e) {
            throw gcs.failure("listing everything under " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
    }

    /** Every object under {@code dir} (a full prefix ending in "/"), markers included. */
    private List<Blob> everythingUnder(String dir, String what) throws GatewayException {
        List<Blob> all = new ArrayList<>();
        try {
            gcs.client.list(gcs.bucket, BlobListOption.prefix(dir)).iterateAll().forEach(all::add);
        } catch (RuntimeException e) {
            throw gcs.failure("listing " + what, e);
        }
        return all;
    }

    /** The new bytes of an append waiting for their compose ({@link ComposedAppend}): no user's file. */
    private boolean appending(String fullName) {
        return fullName.startsWith(gcs.under(ComposedAppend.TEMPORARY_FOLDER));
    }

    private ObjectInfo folder(String fullPrefix) {
        String key = gcs.strip(fullPrefix);
        return ObjectInfo.folder(key.substring(0, key.length() - 1), Instant.EPOCH);
    }

    // ---- modification times ----

    @Override
    public boolean keepsModified() {
        return true;
    }

    /**
     * Keeps {@code time} in the object's custom metadata as rclone does ({@link ModTimes}:
     * {@code mtime}, and gsutil's {@code goog-reserved-file-mtime}): one metadata patch, the
     * other metadata kept, on condition that the generation and metageneration are still
     * those just read, so that an upload or another change meanwhile is not undone
     * (CONFLICT then). The content is not touched: no transfer.
     */
    @Override
    public void setModified(String key, Instant time) throws IOException {
        Blob b = gcs.headBlob(key);
        if (b == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file");
        }
        Map<String, String> metadata = new java.util.HashMap<>(b.getMetadata() == null ? Map.of() : b.getMetadata());
        metadata.put(ModTimes.GCS_KEY, ModTimes.formatRfc3339(time));
        metadata.put(ModTimes.GCS_GSUTIL_KEY, Long.toString(time.getEpochSecond()));
        try {
            gcs.client.update(b.toBuilder().setMetadata(metadata).build(), BlobTargetOption.generationMatch(),
                    BlobTargetOption.metagenerationMatch());
        } catch (RuntimeException e) {
            if (GcsErrors.isStatus(e, 412)) {
                throw ErrorCode.CONFLICT.exception("the file changed while its modification time was set");
            }
            if (GcsErrors.isStatus(e, 404)) {
                throw ErrorCode.NOT_FOUND.exception("no such file");
            }
            throw gcs.failure("setting the modification time of " + key, e);
        }
    }

    // ---- changing ----

    @Override
    public boolean delete(String key) throws IOException {
        Blob b = gcs.headBlob(key);
        if (b == null) {
            if (isFolder(key)) {
                throw ErrorCode.CONFLICT.exception("that is a folder");
            }
            return false;
        }
        gcs.deleteFull(b.getName(), key);
        return true;
    }

    /** Renames a file or a whole folder: copies first, deletes after, so that a failed copy leaves the source whole. */
    @Override
    public void move(String from, String to) throws IOException {
        if (from.equals(to)) {
            if (stat(from) == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder");
            }
            return;
        }
        if (to.startsWith(from + "/") || from.isEmpty()) {
            throw ErrorCode.CONFLICT.exception("a folder cannot move into itself");
        }
        Blob file = gcs.headBlob(from);
        if (file != null) {
            if (isFolder(to)) {
                throw ErrorCode.CONFLICT.exception("a folder exists at the target");
            }
            rewrite(file, gcs.full(to));
            deleteGeneration(file);
            return;
        }
        String fromDir = gcs.under(from);
        List<Blob> blobs = everythingUnder(fromDir, from);
        if (blobs.isEmpty()) {
            throw ErrorCode.NOT_FOUND.exception("no such file or folder");
        }
        if (gcs.headBlob(to) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at the target");
        }
        String toDir = gcs.under(to);
        for (Blob b : blobs) {
            rewrite(b, toDir + b.getName().substring(fromDir.length()));
        }
        for (Blob b : blobs) {
            deleteGeneration(b);
        }
    }

    /**
     * A server-side rewrite of exactly the generation listed, repeated with the rewrite
     * token until done: inside one location it completes at once, across storage classes
     * or locations it takes one call per {@value #REWRITE_MIB_PER_CALL} MiB.
     */
    private void rewrite(Blob source, String toFull) throws GatewayException {
        String what = "copying " + gcs.strip(source.getName()) + " to " + gcs.strip(toFull);
        try {
            CopyWriter w = gcs.client.copy(CopyRequest.newBuilder()
                    .setSource(BlobId.of(gcs.bucket, source.getName(), source.getGeneration()))
                    .setTarget(BlobInfo.newBuilder(gcs.bucket, toFull).build())
                    .setMegabytesCopiedPerChunk(REWRITE_MIB_PER_CALL)
                    .build());
            while (!w.isDone()) {
                w.copyChunk();
            }
        } catch (RuntimeException e) {
            if (GcsErrors.isStatus(e, 404)) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder: " + gcs.strip(source.getName()));
            }
            throw gcs.failure(what, e);
        }
    }

    /** Deletes the source of a rename, only as it was copied: a newer upload meanwhile stays. */
    private void deleteGeneration(Blob b) throws GatewayException {
        try {
            gcs.client.delete(b.getBlobId(), BlobSourceOption.generationMatch(b.getGeneration()));
        } catch (RuntimeException e) {
            if (!GcsErrors.isStatus(e, 412)) {
                throw gcs.failure("deleting " + gcs.strip(b.getName()), e);
            }
        }
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        if (dirKey.isEmpty()) {
            return;
        }
        if (gcs.headBlob(dirKey) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at that path");
        }
        try {
            gcs.client.create(BlobInfo.newBuilder(gcs.bucket, gcs.under(dirKey)).build(), new byte[0],
                    BlobTargetOption.doesNotExist());
        } catch (RuntimeException e) {
            if (GcsErrors.isStatus(e, 412)) {
                return; // the marker exists already
            }
            throw gcs.failure("making the folder " + dirKey, e);
        }
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        String dir = gcs.under(dirKey);
        List<Blob> found = new ArrayList<>();
        try {
            gcs.client.list(gcs.bucket, BlobListOption.prefix(dir), BlobListOption.pageSize(2)).getValues().forEach(found::add);
        } catch (RuntimeException e) {
            throw gcs.failure("listing " + dirKey, e);
        }
        if (found.stream().anyMatch(b -> !b.getName().equals(dir))) {
            throw ErrorCode.NOT_EMPTY.exception("the folder is not empty");
        }
        if (found.isEmpty()) {
            if (gcs.headBlob(dirKey) != null) {
                throw ErrorCode.CONFLICT.exception("that is a file, not a folder");
            }
            return false;
        }
        gcs.deleteFull(dir, "the folder " + dirKey);
        return true;
    }

    // ---- uploads ----

    @Override
    public Upload create(String key) throws IOException {
        beforeUpload(key);
        return new ResumableUpload(gcs, key, -1);
    }

    /** With a known size, the first buffer is no larger than the body: one request when it fits a chunk. */
    @Override
    public Upload create(String key, long size) throws IOException {
        beforeUpload(key);
        return SizedUpload.of(new ResumableUpload(gcs, key, size), size);
    }

    /**
     * Continues the whole stored object without reading it back ({@link ComposedAppend}:
     * the new bytes as a temporary object, then one compose held to the stored
     * generation). Compose joins whole objects only, so keeping fewer bytes than the
     * object has (a REST before its end) reads the kept bytes through instead.
     */
    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        if (keep <= 0) {
            return create(key);
        }
        beforeUpload(key);
        Blob stored = gcs.headBlob(key);
        if (stored == null) {
            throw ErrorCode.NOT_FOUND.exception("the file to continue is gone");
        }
        long size = stored.getSize() != null ? stored.getSize() : 0L;
        if (size < keep) {
            throw ErrorCode.CONFLICT.exception("the file to continue changed: it has " + size + " bytes, not the "
                    + keep + " to keep");
        }
        if (size > keep || stored.getGeneration() == null) {
            return Storage.super.createContinuing(key, keep);
        }
        return new ComposedAppend(gcs, key, keep, stored.getGeneration());
    }

    private void beforeUpload(String key) throws IOException {
        if (isFolder(key)) {
            // As on local disk and S3: a file and a folder of the same name would confuse every client.
            throw ErrorCode.CONFLICT.exception("a folder exists at that path");
        }
    }

    /** {@code uploadId} is the session URI the journal recorded: cancelling it discards every chunk. */
    @Override
    public boolean abortUpload(String fullName, String uploadId) throws IOException {
        try {
            return ResumableUpload.cancel(gcs, uploadId);
        } catch (GatewayException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw GcsErrors.failure(gcs.name, "cancelling the upload session of " + fullName, e);
        }
    }

    @Override
    public void close() {
        gcs.close();
    }
}
