package org.transfergateway.storage.s3;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.UploadPartCopyResponse;

/**
 * Renames inside the bucket, as S3 has no rename: a server-side copy, then a delete of
 * the source. Also copies from another bucket of the same service (a pool's replica). A copy is one CopyObject up to 5 GiB and a multipart copy above, its parts
 * in parallel on the executor; a folder moves object by object, all copied before any is
 * deleted.
 */
final class S3Copy {
    private final S3Bucket s3;
    private final S3Listing listing;
    private final MultipartCleanup cleanup;

    S3Copy(S3Bucket s3, S3Listing listing, MultipartCleanup cleanup) {
        this.s3 = s3;
        this.listing = listing;
        this.cleanup = cleanup;
    }

    /** Renames a file or a whole folder; the source stays whole when a copy fails. */
    void move(String from, String to) throws IOException {
        if (from.equals(to)) {
            if (listing.stat(from) == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder");
            }
            return;
        }
        if (to.startsWith(from + "/") || from.isEmpty()) {
            throw ErrorCode.CONFLICT.exception("a folder cannot move into itself");
        }
        ObjectInfo source = s3.headFile(from);
        if (source != null) {
            if (listing.isFolder(to)) {
                throw ErrorCode.CONFLICT.exception("a folder exists at the target");
            }
            copy(s3.bucket, s3.full(from), s3.full(to), source.size());
            s3.deleteFull(s3.full(from), from);
            return;
        }
        String fromDir = s3.under(from);
        List<S3Object> objects = listing.everythingUnder(fromDir, from);
        if (objects.isEmpty()) {
            throw ErrorCode.NOT_FOUND.exception("no such file or folder");
        }
        if (s3.headFile(to) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at the target");
        }
        // Copy everything first, so that a failure part-way leaves the source whole.
        String toDir = s3.under(to);
        for (S3Object o : objects) {
            copy(s3.bucket, o.key(), toDir + o.key().substring(fromDir.length()), o.size());
        }
        for (S3Object o : objects) {
            s3.deleteFull(o.key(), s3.strip(o.key()));
        }
    }

    /**
     * Copies {@code key} of another bucket of the same service to the same key here, on
     * the service's side; the copy as committed.
     */
    ObjectInfo copyFrom(S3Bucket source, String key) throws IOException {
        ObjectInfo info = source.headFile(key);
        if (info == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file");
        }
        copy(source.bucket, source.full(key), s3.full(key), info.size());
        ObjectInfo copied = s3.headFile(key);
        if (copied == null || copied.size() != info.size()) {
            throw ErrorCode.BACKEND_FAILED.exception(s3.name + ": the copy of " + key + " from " + source.name + " is not there");
        }
        return copied;
    }

    /** A server-side copy: one CopyObject up to 5 GiB, a multipart copy above. */
    private void copy(String sourceBucket, String fromFull, String toFull, long size) throws GatewayException {
        String what = "copying " + s3.strip(fromFull) + " to " + s3.strip(toFull);
        if (size <= PartPlan.MAX_PART_SIZE) {
            try {
                s3.client.copyObject(b -> b.sourceBucket(sourceBucket).sourceKey(fromFull).destinationBucket(s3.bucket).destinationKey(toFull));
            } catch (SdkException e) {
                throw s3.failure(what, e);
            }
            return;
        }
        String uploadId;
        try {
            // A multipart copy starts a new object: it carries the source's metadata (a kept
            // modification time among it) only when given, as CopyObject does by itself.
            HeadObjectResponse h = s3.client.headObject(b -> b.bucket(sourceBucket).key(fromFull));
            uploadId = s3.client.createMultipartUpload(b -> b.bucket(s3.bucket).key(toFull).metadata(h.metadata())
                    .contentType(h.contentType())).uploadId();
        } catch (SdkException e) {
            throw s3.failure(what, e);
        }
        try {
            Map<Integer, CompletedPart> done = new ConcurrentSkipListMap<>();
            Semaphore inFlight = new Semaphore(s3.partConcurrency);
            List<Future<?>> futures = new ArrayList<>();
            for (PartPlan.CopyPart part : PartPlan.copyParts(size)) {
                inFlight.acquireUninterruptibly();
                futures.add(s3.executor.submit(() -> {
                    try {
                        UploadPartCopyResponse r = s3.client.uploadPartCopy(b -> b.sourceBucket(sourceBucket).sourceKey(fromFull)
                                .destinationBucket(s3.bucket).destinationKey(toFull).uploadId(uploadId)
                                .partNumber(part.number()).copySourceRange(part.range()));
                        done.put(part.number(), CompletedPart.builder().partNumber(part.number())
                                .eTag(r.copyPartResult().eTag()).build());
                    } finally {
                        inFlight.release();
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            s3.client.completeMultipartUpload(b -> b.bucket(s3.bucket).key(toFull).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(done.values())));
        } catch (SdkException | InterruptedException | ExecutionException e) {
            cleanup.abortQuietly(toFull, uploadId);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof SdkException s) {
                throw s3.failure(what, s);
            }
            throw ErrorCode.BACKEND_FAILED.failure(s3.name + ": " + what + " failed: " + cause, cause);
        }
    }
}
