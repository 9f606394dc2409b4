package org.transfergateway.storage.meter;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where transfers and stored totals are counted. Both front ends reach it
 * only through {@link org.transfergateway.storage.UserFiles}, which starts a
 * {@link Transfer} for every upload and download and ends it exactly once.
 *
 * <p>Totals move when a transfer ends; live byte counts are in {@link #statistics}'s
 * {@code active} list. Every change goes to the {@link Ledger} first.
 */
public final class TransferMeter {
    private static final Logger log = LoggerFactory.getLogger(TransferMeter.class);

    private final Ledger ledger;
    private final Clock clock;
    private final Instant since;
    private final CommitLocks commitLocks;
    private final QuotaReservations reservations;
    private final Map<String, Transfer> active = new ConcurrentHashMap<>();
    /** Transfers whose end is being recorded: they stay active until they are counted. */
    private final java.util.Set<String> ending = ConcurrentHashMap.newKeySet();
    /** protocol -> user -> counters; guarded by {@code this}. */
    private final Map<Protocol, Map<String, Counters>> transferred = new HashMap<>();
    /** backend or pool -> user -> stored, logical bytes; guarded by {@code this}. */
    private final Map<String, Map<String, StoredTotals>> stored = new HashMap<>();
    /** member backend -> user -> the copies pools keep there; guarded by {@code this}. */
    private final Map<String, Map<String, StoredTotals>> copies = new HashMap<>();
    /** Names of pools: their logical totals show per user, their copies per member backend. */
    private final java.util.Set<String> pools = ConcurrentHashMap.newKeySet();
    private final List<TransferListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<Runnable> queuedListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What the other nodes had added when this one loaded: already in the totals above. */
    private final Ledger.Others othersAtLoad;
    /** What they have added as of the last {@link #refreshOthers()}; the growth since load is added to the totals. */
    private volatile Ledger.Others others;
    /** The front ends' protocols: each shows in {@code byProtocol}, with zeros before its first transfer. */
    private final java.util.Set<Protocol> announced = new java.util.concurrent.ConcurrentSkipListSet<>();

    public TransferMeter(Ledger ledger, Clock clock) throws IOException {
        this.ledger = ledger;
        this.clock = clock;
        this.commitLocks = ledger.commitLocks();
        this.reservations = new QuotaReservations(ledger.shared() ? ledger : null, this);
        ledger.recover();
        Ledger.State state = ledger.load();
        this.since = state.since();
        state.transferred().forEach((p, byUser) -> transferred.put(p, new HashMap<>(byUser)));
        state.stored().forEach((b, byUser) -> stored.put(b, new HashMap<>(byUser)));
        state.copies().forEach((b, byUser) -> copies.put(b, new HashMap<>(byUser)));
        this.othersAtLoad = state.others();
        this.others = state.others();
    }

    /**
     * Reads what the other nodes sharing the ledger have added and are running; called
     * every half second where the ledger is shared (a no-op elsewhere), so that the
     * statistics show every node's transfers no more than a second old. The others'
     * additions are kept apart from this node's counts, which never pass through the
     * ledger's sums: a transfer is counted once whichever node reads it when.
     */
    public void refreshOthers() {
        if (!ledger.shared()) {
            return;
        }
        try {
            others = ledger.others();
        } catch (IOException e) {
            log.warn("ledger: the other nodes' totals could not be read: {}", e.toString());
        }
    }

    /** {@code mine} plus what {@code now} has grown beyond {@code then}, per outer and inner key. */
    private static <K, V> Map<K, Map<String, V>> plusGrowth(Map<K, Map<String, V>> mine, Map<K, Map<String, V>> now,
                                                             Map<K, Map<String, V>> then,
                                                             java.util.function.BinaryOperator<V> plus,
                                                             java.util.function.UnaryOperator<V> negate) {
        if (now == then) {
            return mine;
        }
        Map<K, Map<String, V>> out = new HashMap<>();
        mine.forEach((k, byUser) -> out.put(k, new HashMap<>(byUser)));
        now.forEach((k, byUser) -> byUser.forEach((u, v) -> out.computeIfAbsent(k, x -> new HashMap<>()).merge(u, v, plus)));
        then.forEach((k, byUser) -> byUser.forEach((u, v) -> out.computeIfAbsent(k, x -> new HashMap<>())
                .merge(u, negate.apply(v), plus)));
        return out;
    }

    private static Counters negate(Counters c) {
        return new Counters(-c.bytesIn(), -c.bytesOut(), -c.filesIn(), -c.filesOut(), -c.failedIn(), -c.failedOut());
    }

    private static StoredTotals negate(StoredTotals t) {
        return new StoredTotals(-t.bytes(), -t.objects());
    }

    /** The transfer totals of all nodes; guarded by {@code this}. */
    private Map<Protocol, Map<String, Counters>> allTransferred(Ledger.Others o) {
        return plusGrowth(transferred, o.transferred(), othersAtLoad.transferred(), Counters::plus, TransferMeter::negate);
    }

    /** The stored totals of all nodes; guarded by {@code this}. */
    private Map<String, Map<String, StoredTotals>> allStored(Ledger.Others o) {
        return plusGrowth(stored, o.stored(), othersAtLoad.stored(), StoredTotals::plus, TransferMeter::negate);
    }

    /** The pools' copies of all nodes; guarded by {@code this}. */
    private Map<String, Map<String, StoredTotals>> allCopies(Ledger.Others o) {
        return plusGrowth(copies, o.copies(), othersAtLoad.copies(), StoredTotals::plus, TransferMeter::negate);
    }

    public TransferMeter(Ledger ledger) throws IOException {
        this(ledger, Clock.systemUTC());
    }

    /** In memory only, for tests and tools. */
    public static TransferMeter inMemory() {
        try {
            return new TransferMeter(Ledger.inMemory());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The locks that order commits, deletes and renames of one key. */
    public CommitLocks commitLocks() {
        return commitLocks;
    }

    /** The quota that uploads in progress hold, on every node that shares the ledger. */
    public QuotaReservations quotaReservations() {
        return reservations;
    }

    /** Names the pools among the stored totals' keys: {@code byBackend} shows their members instead. */
    public void declarePools(java.util.Collection<String> names) {
        pools.addAll(names);
    }

    /** The ledger's record of where pools keep their objects. */
    public Placements placements() {
        return ledger;
    }

    /** The ledger's record of the objects' SHA-256 digests. */
    public Digests digests() {
        return ledger;
    }

    /** The ledger's record of resumable (tus) uploads in progress. */
    public ResumableUploads resumableUploads() {
        return ledger;
    }

    /** The ledger's queue of the copies that async pools still have to make. */
    public CopyQueue copyQueue() {
        return ledger;
    }

    /** Runs {@code r} whenever a recorded change has queued copies; it must be fast and never throw. */
    public void onCopiesQueued(Runnable r) {
        queuedListeners.add(r);
    }

    private void queued(StoredChange change) {
        if (change != null && !change.pending().isEmpty()) {
            queuedListeners.forEach(Runnable::run);
        }
    }

    /**
     * Records a copy that {@code task} made: {@code change} adds its placement (no logical
     * bytes) and the task leaves the queue, in one ledger transaction; then the member's
     * totals move. Throws, moving nothing, when the ledger refused it.
     */
    public void copied(CopyTask task, StoredChange change) throws IOException {
        ledger.copied(task, change);
        synchronized (this) {
            applyLocked(change);
        }
    }

    /** Makes {@code protocols} show in the statistics even before their first transfer. */
    public void announce(Protocol... protocols) {
        announced.addAll(List.of(protocols));
    }

    /** Adds a listener told of every start and end; it must be fast and never throw. */
    public void addListener(TransferListener listener) {
        listeners.add(listener);
    }

    /** Removes a listener added with {@link #addListener}. */
    public void removeListener(TransferListener listener) {
        listeners.remove(listener);
    }

    public Transfer start(String user, Protocol protocol, Direction direction, String path, String backend) throws IOException {
        return start(user, protocol, direction, path, backend, -1);
    }

    /** Starts a transfer expected to move {@code size} bytes (-1: unknown). */
    public Transfer start(String user, Protocol protocol, Direction direction, String path, String backend, long size)
            throws IOException {
        String id = Long.toString(clock.millis(), 36) + "-" + Long.toString(ThreadLocalRandom.current().nextLong() >>> 16, 36);
        Transfer t = new Transfer(id, user, protocol, direction, path, backend, clock.instant(), size);
        ledger.started(t);
        active.put(id, t);
        for (TransferListener l : listeners) {
            l.started(t);
        }
        return t;
    }

    /**
     * Ends a transfer, once: later calls for the same transfer do nothing. The stored
     * change is recorded together with it.
     */
    public void end(Transfer t, boolean succeeded, StoredChange change) {
        if (!active.containsKey(t.id()) || !ending.add(t.id())) {
            return;
        }
        TransferRecord r = new TransferRecord(t.id(), t.user(), t.protocol(), t.direction(), t.path(), t.backend(),
                t.bytes(), succeeded, t.startedAt(), clock.instant());
        try {
            ledger.finished(r, change);
        } catch (IOException e) {
            // The memory totals still move: they must match what the clients saw.
            log.error("ledger could not record transfer {} of {}: {}", t.id(), t.user(), e.toString());
        }
        // Leaves the active list as it is counted, in one step: a snapshot sees it in one or the other.
        synchronized (this) {
            transferred.computeIfAbsent(t.protocol(), k -> new HashMap<>())
                    .merge(t.user(), Counters.of(r), Counters::plus);
            applyLocked(change);
            active.remove(t.id());
            ending.remove(t.id());
        }
        for (TransferListener l : listeners) {
            l.ended(r);
        }
        queued(change);
    }

    /**
     * Records, durably, that {@code t} opened an upload that its backend holds until it is
     * completed or aborted, so that a crash cannot leave it behind unknown.
     */
    public void uploadOpened(Transfer t, BackendUpload upload) throws IOException {
        ledger.uploadOpened(t.id(), upload);
    }

    /** The upload recorded with {@link #uploadOpened} was completed or aborted. */
    public void uploadClosed(BackendUpload upload) {
        ledger.uploadClosed(upload);
    }

    /** A stored change without a transfer: delete, rename over an existing file. */
    public void changed(StoredChange change) {
        if (change.isEmpty()) {
            return;
        }
        try {
            ledger.changed(change);
        } catch (IOException e) {
            log.error("ledger could not record a stored change of {}: {}", change.user(), e.toString());
        }
        synchronized (this) {
            applyLocked(change);
        }
        queued(change);
    }

    private void applyLocked(StoredChange c) {
        if (c == null || c.isEmpty() || c.onlyDigest()) {
            return;
        }
        stored.computeIfAbsent(c.backend(), k -> new HashMap<>())
                .merge(c.user(), new StoredTotals(c.bytes(), c.objects()), StoredTotals::plus);
        for (Placement p : c.removed()) {
            copies.computeIfAbsent(p.backend(), k -> new HashMap<>())
                    .merge(c.user(), new StoredTotals(-p.size(), -1), StoredTotals::plus);
        }
        for (Placement p : c.added()) {
            copies.computeIfAbsent(p.backend(), k -> new HashMap<>())
                    .merge(c.user(), new StoredTotals(p.size(), 1), StoredTotals::plus);
        }
    }

    /** Hands the live byte counts to the ledger; called every second. */
    public void flushProgress() {
        try {
            ledger.progress(active.values());
        } catch (IOException e) {
            log.warn("ledger could not record progress: {}", e.toString());
        }
    }

    public List<Transfer> active() {
        List<Transfer> list = new ArrayList<>(active.values());
        list.sort(Comparator.comparing(Transfer::startedAt));
        return list;
    }

    /** The totals of the users that {@code visible} admits (all users for admins). */
    public synchronized Statistics statistics(Predicate<String> visible) {
        Ledger.Others o = others;
        Map<String, Map<String, StoredTotals>> stored = allStored(o);
        Map<String, Map<String, StoredTotals>> copies = allCopies(o);
        Transferred sums = Transferred.of(allTransferred(o), visible, announced);
        StoredTotals storedTotal = StoredTotals.ZERO;
        Map<String, StoredTotals> byBackend = new TreeMap<>();
        Map<String, StoredTotals> storedByUser = new TreeMap<>();
        // Users' bytes once (logical); backends' bytes per copy, so a pool shows as its members.
        for (Map.Entry<String, Map<String, StoredTotals>> b : stored.entrySet()) {
            StoredTotals sum = StoredTotals.ZERO;
            for (Map.Entry<String, StoredTotals> e : b.getValue().entrySet()) {
                if (visible.test(e.getKey())) {
                    sum = sum.plus(e.getValue());
                    storedByUser.merge(e.getKey(), e.getValue(), StoredTotals::plus);
                }
            }
            if (!pools.contains(b.getKey())) {
                byBackend.merge(b.getKey(), sum, StoredTotals::plus);
            }
            storedTotal = storedTotal.plus(sum);
        }
        for (Map.Entry<String, Map<String, StoredTotals>> b : copies.entrySet()) {
            StoredTotals sum = StoredTotals.ZERO;
            for (Map.Entry<String, StoredTotals> e : b.getValue().entrySet()) {
                if (visible.test(e.getKey())) {
                    sum = sum.plus(e.getValue());
                }
            }
            byBackend.merge(b.getKey(), sum, StoredTotals::plus);
        }
        List<Statistics.Active> live = new ArrayList<>();
        for (Transfer t : active()) {
            if (visible.test(t.user())) {
                live.add(new Statistics.Active(t.id(), t.user(), t.protocol().id(), t.direction().id(), t.path(),
                        t.bytes(), t.size(), t.startedAt(), ledger.node()));
            }
        }
        if (!o.active().isEmpty()) {
            for (Statistics.Active a : o.active()) {
                if (visible.test(a.user())) {
                    live.add(a);
                }
            }
            live.sort(Comparator.comparing(Statistics.Active::startedAt).thenComparing(Statistics.Active::id));
        }
        return new Statistics(since, sums.total(), sums.byProtocol(), sums.byUser(), storedTotal, byBackend, storedByUser, live);
    }

    /**
     * Like {@link #statistics(Predicate)}, with the transfer totals limited to the
     * transfers that ended in {@code [since, until)} (either may be null). Stored totals
     * and active transfers are always as of now.
     */
    public Statistics statistics(Predicate<String> visible, Instant from, Instant until) throws IOException {
        Statistics now = statistics(visible);
        if (from == null && until == null) {
            return now;
        }
        Transferred sums = Transferred.of(ledger.transferred(from, until), visible, announced);
        return new Statistics(from == null ? since : from, sums.total(), sums.byProtocol(), sums.byUser(), now.stored(),
                now.storedByBackend(), now.storedByUser(), now.active());
    }

    /** The most recent finished transfers, newest first (see {@link Ledger#recent}). */
    public List<TransferRecord> recent(int limit, String user, Instant from) throws IOException {
        return ledger.recent(limit, user, from);
    }

    /** The gateways registered in the ledger (see {@link Ledger#nodes()}). */
    public List<NodeRecord> nodes() throws IOException {
        return ledger.nodes();
    }

    /** The node whose transfers this meter counts. */
    public String node() {
        return ledger.node();
    }

    /** Now, by the meter's clock: what "the last hour" of the statistics is counted back from. */
    public Instant now() {
        return clock.instant();
    }

    /** The finished transfers a query selects, newest first (see {@link Ledger#recent(TransferQuery)}). */
    public List<TransferRecord> recent(TransferQuery query) throws IOException {
        return ledger.recent(query);
    }

    /** The per-minute throughput of the minutes in {@code [since, until)} (see {@link Ledger#throughput}). */
    public List<ThroughputMinute> throughput(Instant since, Instant until) throws IOException {
        return ledger.throughput(since, until);
    }

    /** Transfer counters summed per protocol and per user, over the visible users. */
    private record Transferred(Counters total, Map<String, Counters> byProtocol, Map<String, Counters> byUser) {
        static Transferred of(Map<Protocol, Map<String, Counters>> counters, Predicate<String> visible,
                              java.util.Set<Protocol> announced) {
            Counters total = Counters.ZERO;
            Map<String, Counters> byProtocol = new TreeMap<>();
            Map<String, Counters> byUser = new TreeMap<>();
            java.util.Set<Protocol> protocols = new java.util.TreeSet<>(announced);
            protocols.addAll(counters.keySet());
            for (Protocol p : protocols) {
                Counters sum = Counters.ZERO;
                for (Map.Entry<String, Counters> e : counters.getOrDefault(p, Map.of()).entrySet()) {
                    if (visible.test(e.getKey())) {
                        sum = sum.plus(e.getValue());
                        byUser.merge(e.getKey(), e.getValue(), Counters::plus);
                    }
                }
                byProtocol.put(p.id(), sum);
                total = total.plus(sum);
            }
            return new Transferred(total, byProtocol, byUser);
        }
    }

    /**
     * What a backend holds now for all users together, as counted: a pool's logical
     * totals, a backend's own objects plus the copies pools keep on it; every node's.
     */
    public synchronized StoredTotals storedOf(String backend) {
        Ledger.Others o = others;
        return backendSum(stored, backend).plus(backendSum(copies, backend))
                .plus(backendSum(o.stored(), backend)).plus(backendSum(o.copies(), backend))
                .plus(negate(backendSum(othersAtLoad.stored(), backend))).plus(negate(backendSum(othersAtLoad.copies(), backend)));
    }

    /** What a user stores now on all backends together, as counted on every node. */
    public synchronized StoredTotals storedOfUser(String user) {
        Ledger.Others o = others;
        return userSum(stored, user).plus(userSum(o.stored(), user)).plus(negate(userSum(othersAtLoad.stored(), user)));
    }

    /** What a backend holds for a user now, as counted on every node. */
    public synchronized StoredTotals storedOf(String backend, String user) {
        Ledger.Others o = others;
        return cell(stored, backend, user).plus(cell(o.stored(), backend, user))
                .plus(negate(cell(othersAtLoad.stored(), backend, user)));
    }

    private static StoredTotals backendSum(Map<String, Map<String, StoredTotals>> m, String backend) {
        return m.getOrDefault(backend, Map.of()).values().stream().reduce(StoredTotals.ZERO, StoredTotals::plus);
    }

    private static StoredTotals userSum(Map<String, Map<String, StoredTotals>> m, String user) {
        StoredTotals sum = StoredTotals.ZERO;
        for (Map<String, StoredTotals> byUser : m.values()) {
            sum = sum.plus(byUser.getOrDefault(user, StoredTotals.ZERO));
        }
        return sum;
    }

    private static StoredTotals cell(Map<String, Map<String, StoredTotals>> m, String backend, String user) {
        return m.getOrDefault(backend, Map.of()).getOrDefault(user, StoredTotals.ZERO);
    }
}
