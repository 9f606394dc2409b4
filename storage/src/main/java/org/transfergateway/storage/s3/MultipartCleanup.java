package org.transfergateway.storage.s3;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * Aborting multipart uploads, so that none outlives the transfer that started it. An
 * abort that the backend cannot take at that moment (no answer) is kept and retried on
 * the next upload and on close; one it refuses is left to the sweep at start-up, which
 * aborts those under the prefix older than the configured age. After a crash the
 * gateway aborts exactly those its transfers recorded ({@link #abortUpload}).
 */
final class MultipartCleanup {
    /** One log category for the whole backend, whichever class of it logs. */
    private static final Logger log = LoggerFactory.getLogger(S3Storage.class);

    private final S3Bucket s3;
    /** Multipart uploads whose abort failed (backend unreachable): retried later. */
    private final Queue<PendingAbort> pendingAborts = new ConcurrentLinkedQueue<>();

    private record PendingAbort(String fullKey, String uploadId) {
    }

    MultipartCleanup(S3Bucket s3) {
        this.s3 = s3;
    }

    /** True when the upload is gone; else it is left to a retry or the next start-up. */
    boolean abortQuietly(String fullKey, String uploadId) {
        try {
            s3.client.abortMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId));
            return true;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                return true; // already gone
            }
            if (e instanceof SdkClientException) {
                // Unreachable for now: try again once it may be back.
                log.warn("{}: could not abort the upload of {} ({}), will try again: {}", s3.name, s3.strip(fullKey), uploadId, S3Errors.reason(e));
                pendingAborts.add(new PendingAbort(fullKey, uploadId));
            } else {
                // Refused: retrying will not help; the start-up clean-up gets it eventually.
                log.warn("{}: could not abort the upload of {} ({}): {}", s3.name, s3.strip(fullKey), uploadId, S3Errors.reason(e));
            }
            return false;
        }
    }

    /** {@code fullKey} is the key as recorded by the journal: the prefix included. */
    boolean abortUpload(String fullKey, String uploadId) throws IOException {
        try {
            s3.client.abortMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId));
            return true;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                return true; // completed or aborted before the record was forgotten
            }
            throw s3.failure("aborting the upload " + uploadId + " of " + fullKey, e);
        }
    }

    /** Aborts what could not be aborted before, e.g. while the backend was down. */
    void retryPendingAborts() {
        for (int n = pendingAborts.size(); n > 0; n--) {
            PendingAbort p = pendingAborts.poll();
            if (p == null) {
                return;
            }
            abortQuietly(p.fullKey(), p.uploadId());
        }
    }

    /** Aborts the incomplete multipart uploads under the prefix initiated before {@code age} ago. */
    int abortAbandonedUploads(Duration age) {
        int aborted = 0;
        try {
            for (MultipartUpload u : s3.client.listMultipartUploadsPaginator(b -> b.bucket(s3.bucket).prefix(s3.prefix)).uploads()) {
                // The age as of when the page arrived, not when listing began.
                Instant cutoff = Instant.now().minus(age);
                if (u.initiated() != null && !u.initiated().isAfter(cutoff)) {
                    s3.client.abortMultipartUpload(b -> b.bucket(s3.bucket).key(u.key()).uploadId(u.uploadId()));
                    aborted++;
                }
            }
        } catch (SdkException e) {
            log.warn("{}: could not clean up abandoned multipart uploads: {}", s3.name, S3Errors.reason(e));
        }
        log.info("{}: aborted {} incomplete multipart uploads older than {}", s3.name, aborted, age);
        return aborted;
    }
}
