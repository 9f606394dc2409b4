package org.transfergateway.storage.meter;

import java.util.List;

/**
 * A change of what a backend or pool holds for a user: an upload adds its size and one
 * object, an overwrite adds the difference only, a delete subtracts. These are the user's
 * logical bytes, counted once however many copies a pool keeps.
 *
 * <p>In a pool, {@code removed} and {@code added} are the copies that leave and join the
 * ledger's placements with this change; each moves its member backend's totals. Outside
 * pools both are empty and the backend's totals are the logical ones.
 *
 * @param backend the backend or pool the user's rule names
 */
public record StoredChange(String backend, String user, long bytes, long objects,
                           List<Placement> removed, List<Placement> added) {

    public StoredChange {
        removed = List.copyOf(removed);
        added = List.copyOf(added);
    }

    public StoredChange(String backend, String user, long bytes, long objects) {
        this(backend, user, bytes, objects, List.of(), List.of());
    }

    public static StoredChange none(String backend, String user) {
        return new StoredChange(backend, user, 0, 0);
    }

    public boolean isEmpty() {
        return bytes == 0 && objects == 0 && removed.isEmpty() && added.isEmpty();
    }
}
