package org.transfergateway.storage.meter;

import java.io.IOException;
import java.util.List;

/**
 * Where the objects of pools live, as the ledger recorded it in the same transactions as
 * the stored totals. A pool reads, lists, renames and deletes through it, whatever its
 * policy placed where.
 */
public interface Placements {

    /** The copies of {@code key} in {@code pool}, in the order they were recorded; empty when none. */
    List<Placement> copies(String pool, String key) throws IOException;

    /**
     * The copies of every object of {@code pool} whose key starts with {@code prefix},
     * sorted by key then backend: the copies of at most {@code limit} keys, of keys after
     * {@code after} (exclusive; null from the start), so that a large folder is read in pages.
     */
    List<Placement> under(String pool, String prefix, String after, int limit) throws IOException;

    /**
     * Records {@code modified} as the modification time of every copy of {@code key} in
     * {@code pool} (a time a client set, kept by each member too), to the millisecond;
     * false when the pool has no such object.
     */
    boolean modified(String pool, String key, java.time.Instant modified) throws IOException;
}
