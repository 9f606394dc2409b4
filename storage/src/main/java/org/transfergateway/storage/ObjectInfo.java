package org.transfergateway.storage;

import java.time.Instant;
import java.util.List;
import org.transfergateway.storage.meter.PendingCopy;
import org.transfergateway.storage.meter.Placement;

/**
 * What a backend says of an object or folder.
 *
 * @param key      the full key, without a trailing "/" for folders
 * @param folder   true for a folder
 * @param size     bytes of content; 0 for folders
 * @param modified last modification, or {@link Instant#EPOCH} when unknown
 * @param etag     an entity tag without quotes, or null when the backend has none
 * @param copies   in a pool, where the object's copies live, as the ledger records them
 *                 (after a commit: where they were just written); empty elsewhere
 * @param pending  after a commit to a pool with {@code replication: async}, the copies
 *                 still to be made, for the ledger to queue; empty elsewhere
 */
public record ObjectInfo(String key, boolean folder, long size, Instant modified, String etag, List<Placement> copies,
                         List<PendingCopy> pending) {

    public ObjectInfo {
        copies = List.copyOf(copies);
        pending = List.copyOf(pending);
    }

    public ObjectInfo(String key, boolean folder, long size, Instant modified, String etag, List<Placement> copies) {
        this(key, folder, size, modified, etag, copies, List.of());
    }

    public ObjectInfo(String key, boolean folder, long size, Instant modified, String etag) {
        this(key, folder, size, modified, etag, List.of());
    }

    public static ObjectInfo file(String key, long size, Instant modified, String etag) {
        return new ObjectInfo(key, false, size, modified, etag);
    }

    public static ObjectInfo folder(String key, Instant modified) {
        return new ObjectInfo(key, true, 0, modified, null);
    }

    /** This object as held by the pool's copies {@code where}. */
    public ObjectInfo withCopies(List<Placement> where) {
        return new ObjectInfo(key, folder, size, modified, etag, where, pending);
    }

    /** The last segment of the key. */
    public String name() {
        int slash = key.lastIndexOf('/');
        return slash < 0 ? key : key.substring(slash + 1);
    }
}
