package org.transfergateway.storage.pool;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Placements;

/**
 * A pool of member backends seen as one {@link Storage}: the routing link at the bottom
 * of a user's chain. A {@link PlacementPolicy} picks where each new object goes
 * ({@code replicas} copies on different members: all confirmed before the commit returns,
 * or with async replication the first one, the others queued in the ledger for the
 * {@link Replicator}); the ledger's {@link Placements} say where every object lives, so
 * reads, listings, renames and deletes find it whatever the policy chose.
 *
 * <p>Objects come from the ledger alone: a stat costs no backend request, and a copy the
 * ledger does not name (a stale one an overwrite could not remove) is never shown.
 * Folders are markers on the members plus the folders that the ledger's keys imply.
 *
 * <p>A member that fails is told so ({@link Member#failed()}) and every policy skips it
 * once it is unhealthy; an upload whose member fails before confirming a byte moves to
 * the next one; a read falls back to another copy.
 */
public final class PoolStorage implements Storage {
    private static final Logger log = LoggerFactory.getLogger(PoolStorage.class);
    /** Keys per page of the ledger when listing a folder. */
    static final int PAGE = 1000;

    private final String name;
    private final Map<String, Storage> storages = new LinkedHashMap<>();
    private final Map<String, Member> byName = new LinkedHashMap<>();
    private final List<Member> members;
    private final PlacementPolicy policy;
    private final int replicas;
    private final boolean async;
    private final Placements placements;
    private final ToLongFunction<String> storedBytes;

    /**
     * @param members     each member's live state, in config order, with its backend in {@code storages}
     * @param storedBytes what a member backend stores now, for {@code least-stored}
     */
    public PoolStorage(String name, List<Member> members, Map<String, Storage> storages, PlacementPolicy policy,
                       int replicas, Placements placements, ToLongFunction<String> storedBytes) {
        this(name, members, storages, policy, replicas, false, placements, storedBytes);
    }

    /**
     * @param async       true for {@code replication: async}: an upload writes one copy and
     *                    its commit queues the other {@code replicas - 1}
     * @param storedBytes what a member backend stores now, for {@code least-stored}
     */
    public PoolStorage(String name, List<Member> members, Map<String, Storage> storages, PlacementPolicy policy,
                       int replicas, boolean async, Placements placements, ToLongFunction<String> storedBytes) {
        if (replicas < 1 || replicas > members.size()) {
            throw new IllegalArgumentException("replicas must be between 1 and " + members.size());
        }
        this.name = name;
        this.members = List.copyOf(members);
        for (Member m : members) {
            Storage s = storages.get(m.name());
            if (s == null) {
                throw new IllegalArgumentException("no backend for member " + m.name());
            }
            this.storages.put(m.name(), s);
            this.byName.put(m.name(), m);
        }
        this.policy = policy;
        this.replicas = replicas;
        this.async = async;
        this.placements = placements;
        this.storedBytes = storedBytes;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean placesCopies() {
        return true;
    }

    public List<Member> members() {
        return members;
    }

    public String policy() {
        return policy.id();
    }

    public int replicas() {
        return replicas;
    }

    /** True for {@code replication: async}: the copies after the first are made by the {@link Replicator}. */
    public boolean async() {
        return async;
    }

    Storage storage(String member) {
        return storages.get(member);
    }

    List<Placement> placementsOf(String key) throws IOException {
        return placements.copies(name, key);
    }

    Member member(String member) {
        return byName.get(member);
    }

    /** Where a new object goes first: the healthy members in the policy's order. */
    List<Member> candidates(String key) {
        if (policy.id().equals("least-stored")) {
            for (Member m : members) {
                m.setStoredBytes(storedBytes.applyAsLong(m.name()));
            }
        }
        return policy.order(key, members);
    }

    private static String prefix(String dirKey) {
        return dirKey.isEmpty() ? "" : dirKey + "/";
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        List<Placement> copies = placements.copies(name, key);
        if (!copies.isEmpty()) {
            Placement p = copies.get(0);
            return new ObjectInfo(key, false, p.size(), p.modified(), etag(p), copies);
        }
        if (!placements.under(name, prefix(key), null, 1).isEmpty()) {
            return ObjectInfo.folder(key, Instant.EPOCH);
        }
        // An empty folder is a marker, made on every healthy member; the first healthy one
        // answers, so that a stat of an absent key costs one request, not one per member.
        IOException failure = null;
        for (Member m : members) {
            if (!m.healthy()) {
                continue;
            }
            try {
                ObjectInfo info = timed(m, () -> storages.get(m.name()).stat(key));
                return info != null && info.folder() ? info : null;
            } catch (IOException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return null;
    }

    /**
     * The entity tag of an object, from what the ledger records of its first copy (the
     * members' own tags are not recorded): it changes with the modification time or size,
     * as a local file's does.
     */
    static String etag(Placement p) {
        return Long.toHexString(p.modified().toEpochMilli()) + "-" + Long.toHexString(p.size());
    }

    @Override
    public Upload create(String key) throws IOException {
        return PoolUpload.open(this, key, -1);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return PoolUpload.open(this, key, size);
    }

    /** Reads the first copy that answers; a member that fails before its first byte gives way to the next copy. */
    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        List<Placement> copies = new ArrayList<>(placements.copies(name, key));
        if (copies.isEmpty()) {
            return null;
        }
        // Healthy members first, in the recorded order.
        copies.sort((a, b) -> Boolean.compare(!healthy(a.backend()), !healthy(b.backend())));
        IOException failure = null;
        for (Placement p : copies) {
            Member m = byName.get(p.backend());
            if (m == null) {
                continue;
            }
            try {
                InputStream in = timed(m, () -> storages.get(m.name()).read(key, offset, length));
                if (in != null) {
                    return in;
                }
                log.warn("pool {}: the copy of {} on {} is missing", name, key, m.name());
            } catch (IOException e) {
                failure = e;
                log.warn("pool {}: reading {} from {} failed: {}", name, key, m.name(), e.toString());
            }
        }
        if (failure != null) {
            throw failure;
        }
        return null;
    }

    private boolean healthy(String member) {
        Member m = byName.get(member);
        return m != null && m.healthy();
    }

    /** One sorted view of a folder: the ledger's objects and implied folders, and the members' folder markers. */
    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        String prefix = prefix(dirKey);
        Map<String, ObjectInfo> entries = new TreeMap<>();
        String after = null;
        while (true) {
            List<Placement> page = placements.under(name, prefix, after, PAGE);
            if (page.isEmpty()) {
                break;
            }
            for (Placement p : page) {
                String rest = p.key().substring(prefix.length());
                int slash = rest.indexOf('/');
                if (slash < 0) {
                    entries.putIfAbsent(rest, new ObjectInfo(p.key(), false, p.size(), p.modified(), null, List.of()));
                } else {
                    String sub = rest.substring(0, slash);
                    entries.putIfAbsent(sub, ObjectInfo.folder(prefix + sub, Instant.EPOCH));
                }
            }
            after = page.get(page.size() - 1).key();
            int slash = after.indexOf('/', prefix.length());
            if (slash >= 0) {
                // Skips the rest of that subfolder: its keys sort before this bound.
                after = after.substring(0, slash + 1) + '\uffff';
            }
        }
        for (Member m : members) {
            if (!m.healthy()) {
                continue;
            }
            try {
                for (ObjectInfo i : timed(m, () -> storages.get(m.name()).list(dirKey))) {
                    if (i.folder()) {
                        entries.putIfAbsent(i.name(), i);
                    }
                }
            } catch (IOException e) {
                log.warn("pool {}: listing {} on {} failed: {}", name, dirKey, m.name(), e.toString());
            }
        }
        return new ArrayList<>(entries.values());
    }

    /** Every object of the pool under {@code dirKey}, once each, with its copies, as the ledger records them. */
    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        String prefix = prefix(dirKey);
        String after = null;
        List<Placement> copies = new ArrayList<>();
        while (true) {
            List<Placement> page = placements.under(name, prefix, after, PAGE);
            if (page.isEmpty()) {
                break;
            }
            for (Placement p : page) {
                if (!copies.isEmpty() && !copies.get(0).key().equals(p.key())) {
                    sink.accept(object(copies));
                    copies.clear();
                }
                copies.add(p);
            }
            after = page.get(page.size() - 1).key();
        }
        if (!copies.isEmpty()) {
            sink.accept(object(copies));
        }
    }

    private static ObjectInfo object(List<Placement> copies) {
        Placement p = copies.get(0);
        return new ObjectInfo(p.key(), false, p.size(), p.modified(), null, copies);
    }

    /** Every member keeps times: a time set must hold on whichever copy a read or listing meets. */
    @Override
    public boolean keepsModified() {
        return storages.values().stream().allMatch(Storage::keepsModified);
    }

    /**
     * Sets the time on every copy, then records it in the ledger, which pool listings and
     * stats read (to the millisecond). A member that fails fails the call; the copies set
     * before it keep the new time, which a retry sets again.
     */
    @Override
    public void setModified(String key, Instant time) throws IOException {
        List<Placement> copies = placements.copies(name, key);
        if (copies.isEmpty()) {
            throw ErrorCode.NOT_FOUND.exception("no such file");
        }
        for (Placement p : copies) {
            Member m = byName.get(p.backend());
            if (m != null) {
                timed(m, () -> {
                    storages.get(m.name()).setModified(key, time);
                    return null;
                });
            }
        }
        placements.modified(name, key, time);
    }

    /** Deletes every copy; a copy that cannot be deleted fails the delete, and the ledger keeps naming the object. */
    @Override
    public boolean delete(String key) throws IOException {
        List<Placement> copies = placements.copies(name, key);
        if (copies.isEmpty()) {
            return false;
        }
        for (Placement p : copies) {
            Member m = byName.get(p.backend());
            if (m != null) {
                timed(m, () -> storages.get(m.name()).delete(key));
            }
        }
        return true;
    }

    /**
     * Renames an object on each member holding a copy, and removes copies of a replaced
     * object on other members. A folder is renamed on each member that has a part of it;
     * the metering link above records the copies' new keys.
     */
    @Override
    public void move(String from, String to) throws IOException {
        List<Placement> copies = placements.copies(name, from);
        if (copies.isEmpty()) {
            // A folder: each member that has it moves its own part (copies and marker).
            boolean moved = false;
            for (Member m : members) {
                Storage s = storages.get(m.name());
                ObjectInfo there = timed(m, () -> s.stat(from));
                if (there != null && there.folder()) {
                    timed(m, () -> {
                        s.move(from, to);
                        return null;
                    });
                    moved = true;
                }
            }
            if (!moved) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder");
            }
            return;
        }
        List<Placement> replaced = placements.copies(name, to);
        for (Placement p : copies) {
            Member m = byName.get(p.backend());
            timed(m, () -> {
                storages.get(m.name()).move(from, to);
                return null;
            });
        }
        for (Placement r : replaced) {
            if (copies.stream().noneMatch(c -> c.backend().equals(r.backend()))) {
                dropStale(to, r.backend());
            }
        }
    }

    /** Removes a copy the ledger no longer names; a failure leaves an extra copy that reconcile reports. */
    void dropStale(String key, String member) {
        Member m = byName.get(member);
        if (m == null) {
            return;
        }
        try {
            timed(m, () -> storages.get(member).delete(key));
        } catch (IOException | RuntimeException e) {
            log.warn("pool {}: the replaced copy of {} on {} stays: {}", name, key, member, e.toString());
        }
    }

    /** A folder marker on every healthy member, so that each member's own listing shows it too. */
    @Override
    public void makeFolder(String dirKey) throws IOException {
        boolean made = false;
        IOException failure = null;
        for (Member m : members) {
            if (!m.healthy()) {
                continue;
            }
            try {
                timed(m, () -> {
                    storages.get(m.name()).makeFolder(dirKey);
                    return null;
                });
                made = true;
            } catch (IOException e) {
                failure = e;
            }
        }
        if (!made) {
            throw failure != null ? failure : new IOException("pool " + name + " has no healthy backend");
        }
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        if (!placements.under(name, prefix(dirKey), null, 1).isEmpty()) {
            throw ErrorCode.NOT_EMPTY.exception("the folder is not empty");
        }
        // A member's NOT_EMPTY (a subfolder's marker there) answers for the pool.
        boolean removed = false;
        for (Member m : members) {
            Storage s = storages.get(m.name());
            removed |= timed(m, () -> s.removeFolder(dirKey));
        }
        return removed;
    }

    /** The members are the gateway's backends: they are closed with them. */
    @Override
    public void close() {
    }

    interface Call<T> {
        T call() throws IOException;
    }

    /** Whether an error says the member itself failed, rather than refused the request. */
    static boolean memberFault(ErrorCode code) {
        return code == ErrorCode.BACKEND_FAILED || code == ErrorCode.BACKEND_UNAVAILABLE
                || code == ErrorCode.INTERNAL || code == ErrorCode.INSUFFICIENT_STORAGE;
    }

    /** Runs one request against a member, telling the member how it went. */
    static <T> T timed(Member m, Call<T> call) throws IOException {
        long start = System.nanoTime();
        try {
            T result = call.call();
            m.succeeded(System.nanoTime() - start);
            return result;
        } catch (org.transfergateway.storage.GatewayException e) {
            if (memberFault(e.code())) {
                m.failed();
            } else {
                // A refusal in the request's own terms (absent, not empty...) is an answer, not a failure.
                m.succeeded(System.nanoTime() - start);
            }
            throw e;
        } catch (IOException | RuntimeException e) {
            m.failed();
            throw e;
        }
    }
}
