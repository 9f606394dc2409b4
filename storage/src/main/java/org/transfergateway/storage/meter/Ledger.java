package org.transfergateway.storage.meter;

import java.io.IOException;
import java.time.Instant;
import java.util.Map;

/**
 * Where finished transfers and stored totals are kept beyond the life of the process.
 * {@link TransferMeter} calls it before it changes its in-memory totals, so a transfer
 * that the ledger refused is not counted in memory either.
 */
public interface Ledger extends AutoCloseable, Placements, CopyQueue, Digests, ResumableUploads {

    /** The totals to start from; only reads. Transfers still active are in no total. */
    State load() throws IOException;

    /**
     * Records the transfers of this process that a crash left active as failed, with the
     * bytes last recorded for them; never those of another process sharing the ledger.
     * Returns how many. For a starting gateway only, before {@link #load()}.
     */
    int recover() throws IOException;

    /**
     * Records that transfer {@code transferId} opened {@code upload} on its backend;
     * returns once the record is durable, so that a crash after it cannot lose the upload.
     */
    void uploadOpened(String transferId, BackendUpload upload) throws IOException;

    /** Forgets {@code upload}: it was completed or aborted. Never throws. */
    void uploadClosed(BackendUpload upload);

    /**
     * The uploads recorded for this process's transfers that have ended (after
     * {@link #recover()}: those a crash interrupted) and were never forgotten.
     */
    java.util.List<BackendUpload> abandonedUploads() throws IOException;

    /**
     * Records a transfer that has started, so that a crash can later find it unfinished.
     * It may return before the record is durable, but never later than the transfer's
     * {@link #finished} does. Throws when the ledger cannot take new transfers.
     */
    void started(Transfer transfer) throws IOException;

    /**
     * Records the byte counts of transfers in progress, so that after a crash an
     * interrupted transfer shows the bytes it had received, at most a second old.
     */
    default void progress(java.util.Collection<Transfer> active) throws IOException {
    }

    /** Records a finished transfer and its stored change together, once. */
    void finished(TransferRecord record, StoredChange change) throws IOException;

    /** Records a stored change that no transfer caused (a delete, a rename over a file). */
    void changed(StoredChange change) throws IOException;

    /**
     * Transfer totals of the transfers that ended in {@code [since, until)}, keyed by
     * protocol and user; either bound may be null for an open end.
     */
    Map<Protocol, Map<String, Counters>> transferred(Instant since, Instant until) throws IOException;

    /**
     * The most recent finished transfers, newest first: at most {@code limit}, of
     * {@code user} only unless it is null, started at or after {@code since} unless null.
     */
    default java.util.List<TransferRecord> recent(int limit, String user, Instant since) throws IOException {
        return recent(TransferQuery.of(limit, user, since));
    }

    /** The finished transfers that {@code query} selects, newest first (see {@link TransferQuery}). */
    java.util.List<TransferRecord> recent(TransferQuery query) throws IOException;

    /**
     * The throughput of the minutes that start in {@code [since, until)} (either bound may
     * be null for an open end), a row per minute, protocol, direction and user, ordered so;
     * minutes without transfers have no row. Minutes are kept at least 7 days.
     */
    java.util.List<ThroughputMinute> throughput(Instant since, Instant until) throws IOException;

    /**
     * The locks that order commits to one key ({@link CommitLocks}); asked once, by the
     * meter. A ledger that other processes share makes them order theirs too.
     */
    default CommitLocks commitLocks() {
        return CommitLocks.inProcess();
    }

    /**
     * Registers this node in the ledger's node registry as started now, serving
     * {@code serves}, of release {@code version}, counted dead by the others after
     * {@code lease} without a {@link #heartbeat()}. A node counted dead before lives again.
     */
    default void register(String serves, String version, java.time.Duration lease) throws IOException {
    }

    /**
     * Tells the registry this node lives; called every second. Returns false when another
     * node has counted this one dead meanwhile (its transfers were failed): it beats on,
     * but its ends of those transfers will be refused.
     */
    default boolean heartbeat() throws IOException {
        return true;
    }

    /** The registered nodes, by id; this node alone where the ledger is not shared. */
    default java.util.List<NodeRecord> nodes() throws IOException {
        return java.util.List.of();
    }

    /**
     * Counts node {@code node} dead, if it is still not counted dead and its heartbeat count
     * is still {@code beats} (a node that beat again, or restarted, is left alone): fails its
     * unfinished transfers with their last recorded bytes, in one transaction with the claim,
     * so that of the live nodes that try it one only does it. Returns null when this node did
     * not claim it; else the transfers failed and the multipart uploads recorded for that
     * node's ended transfers, for the caller to abort and forget.
     */
    default DeadNode failDead(String node, long beats) throws IOException {
        return null;
    }

    /** What {@link #failDead} did. */
    record DeadNode(String node, int transfers, java.util.List<BackendUpload> uploads) {
    }

    /** Takes this node out of the registry: it stopped after its transfers ended. Never throws. */
    default void deregister() {
    }

    /** The node whose transfers this ledger records. */
    default String node() {
        return "local";
    }

    @Override
    void close();

    /**
     * Totals as loaded: transferred counters keyed by protocol and user, stored totals
     * keyed by backend (or pool) and user, and the totals of the pools' copies keyed by
     * member backend and user.
     */
    record State(Instant since,
                 Map<Protocol, Map<String, Counters>> transferred,
                 Map<String, Map<String, StoredTotals>> stored,
                 Map<String, Map<String, StoredTotals>> copies,
                 Others others) {

        public State(Instant since, Map<Protocol, Map<String, Counters>> transferred,
                     Map<String, Map<String, StoredTotals>> stored, Map<String, Map<String, StoredTotals>> copies) {
            this(since, transferred, stored, copies, Others.NONE);
        }

        public State(Instant since, Map<Protocol, Map<String, Counters>> transferred,
                     Map<String, Map<String, StoredTotals>> stored) {
            this(since, transferred, stored, Map.of());
        }
    }

    /**
     * What the other nodes sharing the ledger have added to the totals (since the ledger
     * began recording it, not since they started), and their transfers in progress: a node
     * adds the growth of these since its {@link #load()} to its own counts.
     *
     * @param transferred protocol -> user -> counters the others' transfers added
     * @param stored      backend or pool -> user -> what the others' changes added
     * @param copies      member backend -> user -> what the others' pool copies added
     * @param active      the others' transfers in progress, with their last recorded bytes
     */
    record Others(Map<Protocol, Map<String, Counters>> transferred,
                  Map<String, Map<String, StoredTotals>> stored,
                  Map<String, Map<String, StoredTotals>> copies,
                  java.util.List<Statistics.Active> active) {
        public static final Others NONE = new Others(Map.of(), Map.of(), Map.of(), java.util.List.of());
    }

    /**
     * True when other gateways may write this ledger at the same time (PostgreSQL), so
     * that {@link #others()} changes under this one.
     */
    default boolean shared() {
        return false;
    }

    /** What the other nodes have added and are running, as of now (see {@link Others}); one snapshot. */
    default Others others() throws IOException {
        return Others.NONE;
    }

    /** What {@link #reserve} answers when the bytes asked for do not fit the user's quota. */
    long NO_ROOM_BYTES = -1;
    /** What {@link #reserve} answers when the files asked for do not fit the user's quota. */
    long NO_ROOM_FILES = -2;

    /**
     * Grows reservation {@code id} of {@code user}'s quota, held by this node for an upload
     * in progress, by at least {@code minBytes} and at most {@code wantBytes} of the room, and
     * by {@code files}. The room is the quota less the user's stored totals and every node's
     * reservations; the reservations of one user are taken one at a time across the nodes
     * sharing the ledger, so two nodes never both take the same last bytes. A quota of 0 is
     * none. {@code open} creates the reservation; a later call finds it gone when this node
     * was counted dead meanwhile, and is refused. Returns the bytes added, or
     * {@link #NO_ROOM_BYTES} / {@link #NO_ROOM_FILES} with nothing added. Shared ledgers only.
     */
    default long reserve(String id, String user, boolean open, long minBytes, long wantBytes, long files,
                         long quotaBytes, long quotaFiles) throws IOException {
        throw new UnsupportedOperationException("quota reservations are kept in memory where the ledger is not shared");
    }

    /** Ends reservation {@code id}, after the stored change of its upload was recorded (or it failed). Never throws. */
    default void release(String id) {
    }

    /**
     * Opens session {@code id} of {@code user} on this node, unless the user has {@code limit}
     * sessions open on the live nodes already (counted one user at a time across the nodes).
     * Returns false when refused. Shared ledgers only.
     */
    default boolean openSession(String id, String user, String protocol, int limit) throws IOException {
        throw new UnsupportedOperationException("sessions are counted in memory where the ledger is not shared");
    }

    /** Ends session {@code id}. Never throws. */
    default void closeSession(String id) {
    }

    /**
     * Counts a failed login from {@code address} for every node: after {@code maxFailures}
     * within {@code window} the address is banned for {@code ban}. Returns at once; a
     * refusal is logged.
     */
    default void loginFailed(String address, int maxFailures, java.time.Duration window, java.time.Duration ban) {
    }

    /** Forgets the failed logins (not a ban) of {@code address}. Returns at once. */
    default void loginSucceeded(String address) {
    }

    /** The addresses banned now, on any node, with the end of each ban. */
    default Map<String, Instant> bans() throws IOException {
        return Map.of();
    }

    /** Keeps nothing beyond the process: for tests and tools. */
    static Ledger inMemory() {
        Instant since = Instant.now();
        java.util.List<TransferRecord> records = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        // pool -> key -> copies
        Map<String, java.util.NavigableMap<String, java.util.List<Placement>>> placed = new java.util.HashMap<>();
        MemoryCopyQueue queue = new MemoryCopyQueue(java.time.Clock.systemUTC());
        // backend -> key -> digest
        Map<String, java.util.NavigableMap<String, ObjectDigest>> digests = new java.util.HashMap<>();
        Map<String, ResumableUpload> resumable = new java.util.concurrent.ConcurrentHashMap<>();
        return new Ledger() {
            private void place(StoredChange c) {
                if (c == null) {
                    return;
                }
                synchronized (digests) {
                    var byKey = digests.computeIfAbsent(c.backend(), k -> new java.util.TreeMap<>());
                    if (c.digest() instanceof DigestChange.Stored s) {
                        byKey.remove(s.key());
                        if (s.sha256() != null) {
                            byKey.put(s.key(), new ObjectDigest(c.backend(), s.key(), s.size(), s.sha256(), Instant.now()));
                        }
                    } else if (c.digest() instanceof DigestChange.Removed r) {
                        byKey.remove(r.key());
                    } else if (c.digest() instanceof DigestChange.Moved m && !m.from().equals(m.to())) {
                        byKey.remove(m.to());
                        java.util.List<ObjectDigest> moving = new java.util.ArrayList<>();
                        if (m.folder()) {
                            byKey.tailMap(m.from() + "/", true).values().stream()
                                    .takeWhile(d -> d.key().startsWith(m.from() + "/")).forEach(moving::add);
                        } else if (byKey.containsKey(m.from())) {
                            moving.add(byKey.get(m.from()));
                        }
                        for (ObjectDigest d : moving) {
                            byKey.remove(d.key());
                            String to = m.to() + d.key().substring(m.from().length());
                            byKey.put(to, new ObjectDigest(d.backend(), to, d.size(), d.sha256(), d.recorded()));
                        }
                    }
                }
                queue.apply(c);
                synchronized (placed) {
                    for (Placement p : c.removed()) {
                        var byKey = placed.computeIfAbsent(p.pool(), k -> new java.util.TreeMap<>());
                        var copies = byKey.get(p.key());
                        if (copies != null) {
                            copies.removeIf(x -> x.backend().equals(p.backend()));
                            if (copies.isEmpty()) {
                                byKey.remove(p.key());
                            }
                        }
                    }
                    for (Placement p : c.added()) {
                        var copies = placed.computeIfAbsent(p.pool(), k -> new java.util.TreeMap<>())
                                .computeIfAbsent(p.key(), k -> new java.util.ArrayList<>());
                        copies.removeIf(x -> x.backend().equals(p.backend()));
                        copies.add(p);
                    }
                }
            }

            @Override
            public void createUpload(ResumableUpload upload) {
                resumable.put(upload.id(), upload);
            }

            @Override
            public ResumableUpload upload(String id) {
                return resumable.get(id);
            }

            @Override
            public boolean advanceUpload(String id, long from, long to) {
                ResumableUpload u = resumable.get(id);
                return u != null && !u.isFinished() && u.offset() == from && resumable.replace(id, u, u.at(to));
            }

            @Override
            public boolean advanceUpload(String id, long from, long to, String staged, String digestState) {
                ResumableUpload u = resumable.get(id);
                return u != null && !u.isFinished() && u.offset() == from
                        && resumable.replace(id, u, u.at(to, staged, digestState));
            }

            @Override
            public boolean finishUpload(String id, Instant at) {
                ResumableUpload u = resumable.get(id);
                return u != null && !u.isFinished() && resumable.replace(id, u, u.finishedAt(at));
            }

            @Override
            public boolean removeUpload(String id) {
                return resumable.remove(id) != null;
            }

            @Override
            public java.util.List<ResumableUpload> expiredUploads(String node, Instant now, int limit) {
                return resumable.values().stream().filter(u -> (u.node().equals(node) || u.isStaged()) && u.expires().isBefore(now))
                        .limit(limit).toList();
            }

            @Override
            public ObjectDigest digest(String backend, String key) {
                synchronized (digests) {
                    return digests.getOrDefault(backend, java.util.Collections.emptyNavigableMap()).get(key);
                }
            }

            @Override
            public java.util.List<ObjectDigest> digests(String backend, String prefix, String after, int limit) {
                synchronized (digests) {
                    var byKey = digests.getOrDefault(backend, java.util.Collections.emptyNavigableMap());
                    var tail = after == null || after.compareTo(prefix) < 0 ? byKey.tailMap(prefix, true) : byKey.tailMap(after, false);
                    return tail.values().stream().takeWhile(d -> d.key().startsWith(prefix))
                            .limit(Math.max(0, limit)).toList();
                }
            }

            @Override
            public java.util.List<Placement> copies(String pool, String key) {
                synchronized (placed) {
                    var copies = placed.getOrDefault(pool, java.util.Collections.emptyNavigableMap()).get(key);
                    return copies == null ? java.util.List.of() : java.util.List.copyOf(copies);
                }
            }

            @Override
            public boolean modified(String pool, String key, Instant modified) {
                synchronized (placed) {
                    var copies = placed.getOrDefault(pool, java.util.Collections.emptyNavigableMap()).get(key);
                    if (copies == null) {
                        return false;
                    }
                    Instant millis = Instant.ofEpochMilli(modified.toEpochMilli());
                    copies.replaceAll(c -> new Placement(c.pool(), c.key(), c.backend(), c.size(), millis));
                    return true;
                }
            }

            @Override
            public java.util.List<Placement> under(String pool, String prefix, String after, int limit) {
                java.util.List<Placement> out = new java.util.ArrayList<>();
                int keys = 0;
                synchronized (placed) {
                    var byKey = placed.getOrDefault(pool, java.util.Collections.emptyNavigableMap());
                    var tail = after == null ? byKey.tailMap(prefix, true) : byKey.tailMap(after, false);
                    for (var e : tail.entrySet()) {
                        if (!e.getKey().startsWith(prefix) || keys++ >= limit) {
                            break;
                        }
                        e.getValue().stream().sorted(java.util.Comparator.comparing(Placement::backend)).forEach(out::add);
                    }
                }
                return out;
            }

            @Override
            public State load() {
                return new State(since, Map.of(), Map.of());
            }

            @Override
            public int recover() {
                return 0;
            }

            @Override
            public void uploadOpened(String transferId, BackendUpload upload) {
            }

            @Override
            public void uploadClosed(BackendUpload upload) {
            }

            @Override
            public java.util.List<BackendUpload> abandonedUploads() {
                return java.util.List.of();
            }

            @Override
            public void started(Transfer transfer) {
            }

            @Override
            public void finished(TransferRecord record, StoredChange change) {
                place(change);
                records.add(record);
            }

            @Override
            public Map<Protocol, Map<String, Counters>> transferred(Instant from, Instant until) {
                Map<Protocol, Map<String, Counters>> out = new java.util.TreeMap<>();
                synchronized (records) {
                    for (TransferRecord r : records) {
                        if ((from == null || !r.endedAt().isBefore(from)) && (until == null || r.endedAt().isBefore(until))) {
                            out.computeIfAbsent(r.protocol(), k -> new java.util.HashMap<>()).merge(r.user(), Counters.of(r), Counters::plus);
                        }
                    }
                }
                return out;
            }

            @Override
            public java.util.List<TransferRecord> recent(TransferQuery q) {
                java.util.Comparator<TransferRecord> newestFirst = java.util.Comparator
                        .comparing(TransferRecord::startedAt).thenComparing(TransferRecord::id).reversed();
                synchronized (records) {
                    TransferRecord before = q.before() == null ? null
                            : records.stream().filter(r -> r.id().equals(q.before())).findFirst().orElse(null);
                    if (q.before() != null && before == null) {
                        return java.util.List.of();
                    }
                    return records.stream()
                            .filter(q::matches)
                            .filter(r -> before == null || newestFirst.compare(r, before) > 0)
                            .sorted(newestFirst)
                            .limit(Math.max(0, q.limit())).toList();
                }
            }

            @Override
            public java.util.List<ThroughputMinute> throughput(Instant from, Instant until) {
                Map<java.util.List<Object>, ThroughputMinute> minutes = new java.util.TreeMap<>(
                        java.util.Comparator.comparing((java.util.List<Object> k) -> (Instant) k.get(0))
                                .thenComparing(k -> (Protocol) k.get(1))
                                .thenComparing(k -> (Direction) k.get(2))
                                .thenComparing(k -> (String) k.get(3)));
                synchronized (records) {
                    for (TransferRecord r : records) {
                        ThroughputMinute m = ThroughputMinute.of(r);
                        if ((from == null || !m.minute().isBefore(from)) && (until == null || m.minute().isBefore(until))) {
                            minutes.merge(java.util.List.of(m.minute(), m.protocol(), m.direction(), m.user()), m,
                                    (a, b) -> a.plus(b, a.user()));
                        }
                    }
                }
                return java.util.List.copyOf(minutes.values());
            }

            @Override
            public void changed(StoredChange change) {
                place(change);
            }

            @Override
            public java.util.List<CopyTask> claimCopies(Instant now, java.time.Duration lease, int limit) {
                return queue.claimCopies(now, lease, limit);
            }

            @Override
            public boolean renewCopy(CopyTask task, Instant until) {
                return queue.renewCopy(task, until);
            }

            @Override
            public void copied(CopyTask task, StoredChange change) {
                place(change);
                queue.copied(task, change);
            }

            @Override
            public void retryCopy(CopyTask task, String target, int attempts, Instant next) {
                queue.retryCopy(task, target, attempts, next);
            }

            @Override
            public void dropCopy(CopyTask task) {
                queue.dropCopy(task);
            }

            @Override
            public int releaseCopies() {
                return queue.releaseCopies();
            }

            @Override
            public java.util.List<CopyTask> pendingCopies(String pool, String key) {
                return queue.pendingCopies(pool, key);
            }

            @Override
            public Map<String, PendingTotals> pendingTotals() {
                return queue.pendingTotals();
            }

            @Override
            public void close() {
            }
        };
    }
}
