package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * The SHA-256 of an object as the ledger recorded it when the object was committed.
 *
 * @param size     the object's size then: a size that differs now means it changed since
 * @param sha256   lower-case hex
 * @param recorded when the commit was recorded
 */
public record ObjectDigest(String backend, String key, long size, String sha256, Instant recorded) {
}
