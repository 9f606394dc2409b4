package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * One copy of an object of a pool, as the ledger records it: the object {@code key} of
 * pool {@code pool} is held by the member backend {@code backend}.
 *
 * @param modified as the member reported it at the commit
 */
public record Placement(String pool, String key, String backend, long size, Instant modified) {

    /** The same copy under another key (a rename). */
    public Placement withKey(String other) {
        return new Placement(pool, other, backend, size, modified);
    }
}
