package org.transfergateway.storage.meter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A change of what a backend or pool holds for a user: an upload adds its size and one
 * object, an overwrite adds the difference only, a delete subtracts. These are the user's
 * logical bytes, counted once however many copies a pool keeps.
 *
 * <p>In a pool, {@code removed} and {@code added} are the copies that leave and join the
 * ledger's placements with this change; each moves its member backend's totals. Outside
 * pools both are empty and the backend's totals are the logical ones.
 *
 * <p>{@code pending} are the copies that a pool with {@code replication: async} still has to
 * make of the object just committed; the ledger queues them ({@link CopyQueue}) in the same
 * transaction. The copies still pending of every key whose copies the change removes are
 * dropped then, unless the change renames the key: see {@link #keyMoves()}.
 *
 * <p>{@code digest} is what the change does to the SHA-256 digests kept of the backend's
 * or pool's objects ({@link DigestChange}); null when nothing.
 *
 * @param backend the backend or pool the user's rule names
 */
public record StoredChange(String backend, String user, long bytes, long objects,
                           List<Placement> removed, List<Placement> added, List<PendingCopy> pending,
                           DigestChange digest) {

    public StoredChange {
        removed = List.copyOf(removed);
        added = List.copyOf(added);
        pending = List.copyOf(pending);
    }

    public StoredChange(String backend, String user, long bytes, long objects,
                        List<Placement> removed, List<Placement> added, List<PendingCopy> pending) {
        this(backend, user, bytes, objects, removed, added, pending, null);
    }

    public StoredChange(String backend, String user, long bytes, long objects,
                        List<Placement> removed, List<Placement> added) {
        this(backend, user, bytes, objects, removed, added, List.of());
    }

    public StoredChange(String backend, String user, long bytes, long objects) {
        this(backend, user, bytes, objects, List.of(), List.of());
    }

    public static StoredChange none(String backend, String user) {
        return new StoredChange(backend, user, 0, 0);
    }

    /** This change, doing {@code d} to the digests kept too. */
    public StoredChange with(DigestChange d) {
        return new StoredChange(backend, user, bytes, objects, removed, added, pending, d);
    }

    /** True when the change only moves or forgets digests: no totals, copies or pending copies. */
    public boolean onlyDigest() {
        return digest != null && bytes == 0 && objects == 0 && removed.isEmpty() && added.isEmpty() && pending.isEmpty();
    }

    public boolean isEmpty() {
        return bytes == 0 && objects == 0 && removed.isEmpty() && added.isEmpty() && pending.isEmpty() && digest == null;
    }

    /**
     * What becomes of the pending copies of a key whose copies a change removes: they follow
     * the object to {@code to} (a rename), or end with it ({@code to} null).
     */
    public record KeyMove(String pool, String key, String to) {
    }

    /**
     * For each key whose copies this change removes, once, the keys whose pending copies end
     * first, then those renamed: a key is renamed when a copy removed from it is added again
     * under another key on the same member with the same size and time. The ledger applies
     * these before it queues {@link #pending()}, so that an overwrite drops the old copies'
     * tasks and queues its own, and a rename over a file drops the replaced file's first.
     */
    public List<KeyMove> keyMoves() {
        Map<List<String>, String> moves = new LinkedHashMap<>();
        for (Placement r : removed) {
            String to = null;
            for (Placement a : added) {
                if (a.pool().equals(r.pool()) && !a.key().equals(r.key()) && a.withKey(r.key()).equals(r)) {
                    to = a.key();
                    break;
                }
            }
            List<String> key = List.of(r.pool(), r.key());
            if (to != null || !moves.containsKey(key)) {
                moves.put(key, to);
            }
        }
        List<KeyMove> out = new ArrayList<>();
        moves.forEach((k, to) -> {
            if (to == null) {
                out.add(new KeyMove(k.get(0), k.get(1), null));
            }
        });
        moves.forEach((k, to) -> {
            if (to != null) {
                out.add(new KeyMove(k.get(0), k.get(1), to));
            }
        });
        return out;
    }
}
