package org.transfergateway.storage.meter;

/**
 * An upload a backend holds open until it is completed or aborted (an S3 multipart
 * upload), as the ledger records it for the transfer that opened it.
 *
 * @param backend  the configured backend name
 * @param key      the object's name as the backend knows it (on S3 the full key, prefix included)
 * @param uploadId the backend's id of the upload
 */
public record BackendUpload(String backend, String key, String uploadId) {
}
