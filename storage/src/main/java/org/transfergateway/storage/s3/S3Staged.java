package org.transfergateway.storage.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A {@link StagedUpload} on S3: one multipart upload at the object's key, opened when the
 * upload starts; each full part (sized as {@link PartPlan#partSize} says) is sent as it
 * fills, from one buffer of the shared {@link MemoryBudget}; at each save the tail below
 * one part goes into a side object under {@link #STAGING} (outside every user's home:
 * user names start with a letter or digit), named by the upload's token and the offset it
 * ends at (the same offset always holds the same bytes), and is
 * read back into the buffer when the upload continues. A new side object never replaces
 * the one the recorded state names: the old one goes only once the new state is recorded
 * ({@link #saved()}), so what the ledger holds after a crash always names objects that
 * exist. Parts sent after the last record are sent again under the same numbers.
 *
 * <p>The state, as text: a first line {@code s3-staged 1 <token> <upload id>}, then
 * {@code side <size>} when a side object holds a tail, then {@code part <number> <size>
 * <etag>} for each part confirmed.
 */
final class S3Staged implements StagedUpload {
    /** One log category for the whole backend, whichever class of it logs. */
    private static final Logger log = LoggerFactory.getLogger(S3Storage.class);
    /** Where side objects live, under the backend's prefix; listings and walks leave it out. */
    static final String STAGING = ".gateway-staging/";
    private static final String HEADER = "s3-staged 1";

    private record Part(int number, long size, String etag) {
    }

    private final S3Bucket s3;
    private final MultipartCleanup cleanup;
    private final String key;
    private final String fullKey;
    private final String token;
    private final String uploadId;
    private final List<Part> parts = new ArrayList<>();
    /** The bytes in parts. */
    private long inParts;
    /** The size of the side object the recorded state names, 0 for none. */
    private long side;
    /** The full key of that side object, or null. */
    private String sideKey;
    /** The tail's size that the last save kept, until {@link #saved()}; -1 for none. */
    private long savedSide = -1;
    /** The tail: the side object's bytes once read back, and what was written since. */
    private ByteBuffer buffer;
    /** Bytes were written since the state this instance began with or last saved. */
    private boolean dirty;
    /** A part failed: what was written since the last save cannot be saved. */
    private boolean failed;

    private S3Staged(S3Bucket s3, MultipartCleanup cleanup, String key, String token, String uploadId) {
        this.s3 = s3;
        this.cleanup = cleanup;
        this.key = key;
        this.fullKey = s3.full(key);
        this.token = token;
        this.uploadId = uploadId;
    }

    /** Opens the multipart upload of a new staged upload. */
    static S3Staged start(S3Bucket s3, MultipartCleanup cleanup, String key) throws IOException {
        String fullKey = s3.full(key);
        try {
            String id = s3.client.createMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey)).uploadId();
            return new S3Staged(s3, cleanup, key, UUID.randomUUID().toString().replace("-", ""), id);
        } catch (SdkException e) {
            throw s3.failure("starting the upload of " + key, e);
        }
    }

    /** The staged upload of {@code key} that {@code state} describes. */
    static S3Staged resume(S3Bucket s3, MultipartCleanup cleanup, String key, String state) throws IOException {
        String[] lines = state.split("\n");
        String[] head = lines[0].split(" ");
        if (!lines[0].startsWith(HEADER + " ") || head.length != 4) {
            throw ErrorCode.INTERNAL.exception(s3.name + ": the state of the staged upload of " + key + " is not one this backend wrote");
        }
        S3Staged u = new S3Staged(s3, cleanup, key, head[2], head[3]);
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split(" ");
            if (f[0].equals("side") && f.length == 2) {
                u.side = Long.parseLong(f[1]);
            } else if (f[0].equals("part") && f.length == 4) {
                Part p = new Part(Integer.parseInt(f[1]), Long.parseLong(f[2]), f[3]);
                u.parts.add(p);
                u.inParts += p.size();
            } else {
                throw ErrorCode.INTERNAL.exception(s3.name + ": line " + (i + 1) + " of the state of the staged upload of "
                        + key + " is not understood");
            }
        }
        u.sideKey = u.side > 0 ? u.sideKey(u.inParts + u.side) : null;
        return u;
    }

    private String state(long sideSize) {
        StringBuilder b = new StringBuilder(HEADER).append(' ').append(token).append(' ').append(uploadId);
        if (sideSize > 0) {
            b.append("\nside ").append(sideSize);
        }
        for (Part p : parts) {
            b.append("\npart ").append(p.number()).append(' ').append(p.size()).append(' ').append(p.etag());
        }
        return b.toString();
    }

    /** The side object of the tail that ends at {@code offset}. */
    private String sideKey(long offset) {
        return s3.prefix + STAGING + token + "/" + offset;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public long size() {
        return inParts + (buffer == null ? side : buffer.position());
    }

    /** The tail in memory: the side object read back into a part buffer. */
    private void loadTail() throws IOException {
        if (buffer != null) {
            return;
        }
        long partSize = PartPlan.partSize(parts.size() + 1, s3.firstPartSize, s3.partCeiling);
        buffer = acquire((int) Math.max(partSize, side));
        if (side == 0) {
            return;
        }
        long read = 0;
        try (InputStream in = s3.client.getObject(b -> b.bucket(s3.bucket).key(sideKey))) {
            byte[] chunk = new byte[64 * 1024];
            for (int n; (n = in.read(chunk)) > 0 && read + n <= side; ) {
                buffer.put(chunk, 0, n);
                read += n;
            }
        } catch (SdkException e) {
            release();
            throw s3.failure("reading the kept tail of the upload of " + key, e);
        }
        if (read != side) {
            long found = read;
            release();
            throw ErrorCode.INTERNAL.exception(s3.name + ": the kept tail of the upload of " + key + " has " + found
                    + " bytes, not " + side);
        }
    }

    private ByteBuffer acquire(int size) throws IOException {
        try {
            return s3.budget.acquire(size);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for memory to upload " + key);
        }
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        if (failed) {
            throw ErrorCode.INTERNAL.exception(s3.name + ": a part of the upload of " + key + " failed");
        }
        loadTail();
        dirty |= src.hasRemaining();
        while (src.hasRemaining()) {
            if (!buffer.hasRemaining()) {
                sendPart();
                buffer = acquire((int) PartPlan.partSize(parts.size() + 1, s3.firstPartSize, s3.partCeiling));
            }
            int n = Math.min(buffer.remaining(), src.remaining());
            buffer.put(buffer.position(), src, src.position(), n);
            buffer.position(buffer.position() + n);
            src.position(src.position() + n);
        }
    }

    /** Sends the buffer as the next part and gives it back to the budget. */
    private void sendPart() throws IOException {
        int number = parts.size() + 1;
        ByteBuffer part = buffer;
        buffer = null;
        part.flip();
        int length = part.limit();
        try {
            String etag = s3.client.uploadPart(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId).partNumber(number)
                    .contentLength((long) length)
                    .overrideConfiguration(o -> o.apiCallAttemptTimeout(MultipartPut.attemptTimeout(length))),
                    RequestBody.fromContentProvider(() -> new ByteBufferInputStream(part.duplicate().position(0).limit(length)),
                            length, "application/octet-stream")).eTag();
            parts.add(new Part(number, length, etag));
            inParts += length;
        } catch (SdkException e) {
            failed = true;
            throw s3.failure("uploading part " + number + " of " + key, e);
        } finally {
            s3.budget.release(part);
        }
    }

    @Override
    public String save() throws IOException {
        if (!dirty) {
            return state(side); // nothing written since: the recorded state stands
        }
        if (failed) {
            throw ErrorCode.INTERNAL.exception(s3.name + ": a part of the upload of " + key
                    + " failed; the bytes since the last save must be sent again");
        }
        int tail = buffer.position();
        if (tail > 0) {
            ByteBuffer bytes = buffer.duplicate().flip();
            String newKey = sideKey(inParts + tail);
            try {
                s3.client.putObject(b -> b.bucket(s3.bucket).key(newKey).contentLength((long) tail),
                        RequestBody.fromContentProvider(() -> new ByteBufferInputStream(bytes.duplicate()), tail,
                                "application/octet-stream"));
            } catch (SdkException e) {
                throw s3.failure("keeping the tail of the upload of " + key, e);
            }
        }
        savedSide = tail;
        return state(tail);
    }

    @Override
    public void saved() {
        if (savedSide < 0) {
            return;
        }
        String previous = sideKey;
        side = savedSide;
        sideKey = side > 0 ? sideKey(inParts + side) : null;
        savedSide = -1;
        dirty = false;
        if (previous != null && !previous.equals(sideKey)) {
            deleteQuietly(previous);
        }
    }

    @Override
    public void release() {
        if (buffer != null) {
            s3.budget.release(buffer);
            buffer = null;
        }
    }

    @Override
    public ObjectInfo commit() throws IOException {
        long total;
        String etag;
        if (failed) {
            throw ErrorCode.INTERNAL.exception(s3.name + ": a part of the upload of " + key + " failed");
        }
        try {
            if (buffer == null && sideKey != null && !exists(sideKey)) {
                // The tail is gone: only a commit that went through before deletes it.
                ObjectInfo there = s3.headFile(key);
                if (there != null && there.size() == size()) {
                    return there;
                }
                throw ErrorCode.INTERNAL.exception(s3.name + ": the kept tail of the upload of " + key + " is gone");
            }
            loadTail();
            total = size();
            if (total == 0) {
                // No part at all: an empty object, and the multipart upload goes.
                etag = s3.client.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength(0L), RequestBody.empty()).eTag();
                cleanup.abortUpload(fullKey, uploadId);
            } else {
                if (buffer.position() > 0) {
                    sendPart();
                }
                List<CompletedPart> completed = parts.stream()
                        .map(p -> CompletedPart.builder().partNumber(p.number()).eTag(p.etag()).build()).toList();
                etag = complete(completed, total);
            }
        } catch (SdkException e) {
            throw s3.failure("completing the upload of " + key, e);
        } finally {
            release();
        }
        deleteSides();
        log.debug("{}: stored {} ({} bytes, {} parts, staged)", s3.name, key, total, parts.size());
        return s3.storedInfo(key, total, etag);
    }

    /**
     * CompleteMultipartUpload; when the upload is gone and the object has the size it was to
     * have, the complete went through before (the answer, or the ledger's record of it, was
     * lost to a crash), and the object is taken as it is.
     */
    private String complete(List<CompletedPart> completed, long total) throws IOException {
        try {
            return s3.client.completeMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(completed))).eTag();
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                ObjectInfo there = s3.headFile(key);
                if (there != null && there.size() == total) {
                    return there.etag();
                }
            }
            throw e;
        }
    }

    private boolean exists(String fullKey) throws IOException {
        try {
            s3.client.headObject(b -> b.bucket(s3.bucket).key(fullKey));
            return true;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                return false;
            }
            throw s3.failure("reading the kept tail of the upload of " + key, e);
        }
    }

    @Override
    public void abort() throws IOException {
        release();
        if (!cleanup.abortUpload(fullKey, uploadId)) {
            throw ErrorCode.INTERNAL.exception(s3.name + ": the upload of " + key + " could not be aborted");
        }
        deleteSides();
    }

    /** Every side object of this upload, also those a crash left between a save and its record. */
    private void deleteSides() {
        try {
            for (S3Object o : s3.client.listObjectsV2Paginator(b -> b.bucket(s3.bucket).prefix(s3.prefix + STAGING + token + "/"))
                    .contents()) {
                deleteQuietly(o.key());
            }
        } catch (SdkException e) {
            log.warn("{}: could not list the kept tails of the upload of {}: {}", s3.name, key, S3Errors.reason(e));
        }
    }

    private void deleteQuietly(String fullSideKey) {
        try {
            s3.client.deleteObject(b -> b.bucket(s3.bucket).key(fullSideKey));
        } catch (SdkException e) {
            log.warn("{}: could not delete {}: {}", s3.name, fullSideKey, S3Errors.reason(e));
        }
    }
}
