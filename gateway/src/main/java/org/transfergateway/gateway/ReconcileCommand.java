package org.transfergateway.gateway;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.FolderRule;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StoragePaths;
import org.transfergateway.storage.meter.DigestChange;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.ObjectDigest;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.PendingCopy;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.pool.Member;
import org.transfergateway.storage.pool.PoolStorage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reconcile}: lists every backend (ListObjectsV2 page by page on S3, a walk of the
 * folder on local disk) under the users' homes and folder rules, and compares what it finds
 * with the ledger. Each object counts for the user, and the backend or pool, that the
 * gateway routes its key to: the longest folder rule covering it, else the user's own.
 *
 * <p>A plain backend's sums per user are compared with the ledger's stored totals. A pool is
 * checked copy by copy: the ledger's placements against what each member holds under the
 * areas of the pool's users (a <em>missing</em> copy is named by the ledger but absent from
 * its member or of another size there; an <em>extra</em> copy is an object the ledger does
 * not name), and the pool's logical totals (one copy a key, from the placements) against its
 * stored totals. Exit 0 when everything agrees, 1 otherwise; {@code --fix} removes the extra
 * copies, forgets the missing ones and adopts the figures, recording the adjustments.
 *
 * <p>{@code --verify} also reads every object whose SHA-256 the ledger recorded and reports
 * each whose content no longer has it (or that is gone) as drift; these reads are no
 * transfers. With {@code --fix} the ledger forgets those digests: the object is what the
 * backend holds, and its digest is computed again when asked.
 */
@Command(name = "reconcile", mixinStandardHelpOptions = true,
        description = "Compares the ledger's stored totals and pools' copies with what the backends hold.")
final class ReconcileCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "the YAML configuration (embedded defaults without it)")
    Path config;

    @Option(names = "--fix", description = "adopt the backends' figures, remove extra copies and forget missing ones,"
            + " and record that in the ledger")
    boolean fix;

    @Option(names = "--verify", description = "also read every object whose SHA-256 the ledger recorded and report"
            + " those whose content no longer has it")
    boolean verify;

    PrintStream out = System.out;

    /** Keys per page of a pool's placements. */
    private static final int PAGE = 1000;

    /**
     * On a ledger that gateways share, {@code --fix} leaves a copy that changed this recently:
     * it may be an upload that another gateway has stored and is recording right now.
     */
    static final Duration SHARED_LEDGER_GRACE = Duration.ofMinutes(15);

    /** One row of the drift table: a backend's or a pool's totals for one user. */
    record Row(String backend, String user, StoredTotals ledger, StoredTotals actual) {
        boolean drifts() {
            return !ledger.equals(actual);
        }
    }

    /**
     * A copy of a pool's object on which the ledger and a member disagree.
     *
     * @param missing true when the ledger names the copy and the member lacks it (or holds
     *                another size); false for an extra copy, which the ledger does not name
     * @param size    the ledger's size of a missing copy; the member's of an extra one
     * @param held    what the member holds at the key: null for a copy it lacks
     * @param note    why, when not plain absence; null otherwise
     */
    record CopyProblem(boolean missing, String pool, String backend, String key, long size, ObjectInfo held, String note) {
        String where() {
            return "pool=" + pool + " backend=" + backend + " key=" + key;
        }

        String describe() {
            return (missing ? "missing copy: " : "extra copy: ") + where() + " size=" + size
                    + (note == null ? "" : " (" + note + ")");
        }
    }

    /**
     * An object whose content no longer has the SHA-256 that the ledger recorded at its
     * upload, or that is gone.
     *
     * @param actual the backend's digest now (hex), null when the object is gone
     * @param size   the backend's size now, -1 when the object is gone
     */
    record DigestProblem(ObjectDigest recorded, String actual, long size) {
        String describe() {
            String where = "backend=" + recorded.backend() + " key=" + recorded.key();
            return actual == null
                    ? "digest of a missing object: " + where + " sha256=" + recorded.sha256() + " size=" + recorded.size()
                    : "digest mismatch: " + where + " ledger sha256=" + recorded.sha256() + " size=" + recorded.size()
                    + ", backend sha256=" + actual + " size=" + size;
        }
    }

    /** What reconciling found: the totals rows, the copy problems of the pools, the digests that fail (--verify). */
    record Report(List<Row> rows, List<CopyProblem> copies, List<DigestProblem> digests, long verified) {
        Report(List<Row> rows, List<CopyProblem> copies) {
            this(rows, copies, List.of(), -1);
        }

        boolean drifts() {
            return !copies.isEmpty() || !digests.isEmpty() || rows.stream().anyMatch(Row::drifts);
        }
    }

    @Override
    public Integer call() throws Exception {
        GatewayConfig cfg = config == null ? ConfigLoader.defaults(Path.of("data")) : new ConfigLoader().load(config);
        JdbcLedger ledger;
        try {
            // Reads and adjusts totals only: recovering unfinished transfers is for their own
            // gateway, which may be running on this (shared) ledger right now.
            ledger = JdbcLedger.open(cfg.ledger().jdbcUrl(), Clock.systemUTC(), cfg.cluster().nodeId());
        } catch (IOException e) {
            boolean locked = e.getMessage().contains("locked");
            throw new ConfigException("ledger.url", e.getMessage() + (locked ? " (is a gateway running on this ledger? stop it first)" : ""));
        }
        try (ledger; Backends backends = Backends.open(cfg, false)) {
            backends.openPools(cfg.storage(), ledger);
            Report report = compare(cfg.users(), backends.all(), backends.pools(), ledger);
            if (verify) {
                report = verify(report, backends, ledger);
            }
            print(report);
            boolean drift = report.drifts();
            if (drift && fix) {
                fix(report, backends, ledger);
                out.println("fixed: the ledger now holds the backends' figures");
            }
            return drift ? 1 : 0;
        }
    }

    /**
     * Walks each backend once, under the areas whose keys the gateway may send there, and
     * compares with the ledger: the plain backends' totals, then each pool's totals and copies.
     */
    static Report compare(List<UserConfig> users, Map<String, Storage> backends, Map<String, PoolStorage> pools,
                          JdbcLedger ledger) throws IOException {
        Routes routes = new Routes(users, pools);
        // backend -> user -> what the backend holds as the user's own objects
        Map<String, Map<String, StoredTotals>> actual = new HashMap<>();
        // pool -> member -> key -> the member's copy
        Map<String, Map<String, Map<String, ObjectInfo>>> held = new HashMap<>();
        for (Routes.Area a : routes.areas()) {
            if (backends.containsKey(a.target())) {
                actual.computeIfAbsent(a.target(), k -> new HashMap<>()).putIfAbsent(a.user(), StoredTotals.ZERO);
            }
        }
        for (Map.Entry<String, Storage> b : backends.entrySet()) {
            String backend = b.getKey();
            for (String prefix : routes.prefixes(backend)) {
                b.getValue().walk(prefix, info -> {
                    Routes.Area owner = routes.owner(backend, info.key());
                    if (owner == null) {
                        return; // a key no user's route leads to this backend: not the gateway's
                    }
                    if (owner.target().equals(backend)) {
                        actual.computeIfAbsent(backend, k -> new HashMap<>())
                                .merge(owner.user(), new StoredTotals(info.size(), 1), StoredTotals::plus);
                    } else {
                        held.computeIfAbsent(owner.target(), k -> new HashMap<>())
                                .computeIfAbsent(backend, k -> new TreeMap<>()).put(info.key(), info);
                    }
                });
            }
        }
        Map<String, Map<String, StoredTotals>> stored = ledger.storedTotals();
        List<Row> rows = new ArrayList<>();
        for (String backend : backends.keySet()) {
            rows.addAll(rows(backend, stored.get(backend), actual.get(backend)));
        }
        Map<String, Map<String, StoredTotals>> placed = ledger.placedTotals();
        List<CopyProblem> copies = new ArrayList<>();
        for (PoolStorage pool : pools.values()) {
            Map<String, StoredTotals> logical = new HashMap<>(placed.getOrDefault(pool.name(), Map.of()));
            for (Routes.Area a : routes.areas()) {
                if (a.target().equals(pool.name())) {
                    logical.putIfAbsent(a.user(), StoredTotals.ZERO);
                }
            }
            rows.addAll(rows(pool.name(), stored.get(pool.name()), logical));
            copies.addAll(copies(pool, backends, routes, ledger, held.getOrDefault(pool.name(), Map.of())));
        }
        return new Report(rows, copies);
    }

    /** The rows of one backend or pool, by user: each user the ledger or the backend has. */
    private static List<Row> rows(String backend, Map<String, StoredTotals> counted, Map<String, StoredTotals> actual) {
        Map<String, StoredTotals> ledger = counted == null ? Map.of() : counted;
        Map<String, StoredTotals> found = actual == null ? Map.of() : actual;
        Set<String> names = new TreeSet<>(ledger.keySet());
        names.addAll(found.keySet());
        List<Row> rows = new ArrayList<>();
        for (String user : names) {
            rows.add(new Row(backend, user, ledger.getOrDefault(user, StoredTotals.ZERO),
                    found.getOrDefault(user, StoredTotals.ZERO)));
        }
        return rows;
    }

    /**
     * The copies of one pool on which the ledger and the members disagree: the ledger's
     * placements, page by page, against the members' objects in the pool's areas
     * ({@code held}, member -> key -> object, consumed here); what is left of those is extra.
     */
    private static List<CopyProblem> copies(PoolStorage pool, Map<String, Storage> backends, Routes routes,
                                            JdbcLedger ledger, Map<String, Map<String, ObjectInfo>> held)
            throws IOException {
        List<CopyProblem> problems = new ArrayList<>();
        String after = null;
        while (true) {
            List<Placement> page = ledger.under(pool.name(), "", after, PAGE);
            if (page.isEmpty()) {
                break;
            }
            for (Placement p : page) {
                Map<String, ObjectInfo> onMember = held.get(p.backend());
                ObjectInfo copy = onMember == null ? null : onMember.remove(p.key());
                Storage member = backends.get(p.backend());
                String note = null;
                if (member == null) {
                    note = "not a configured backend";
                } else if (copy == null) {
                    Routes.Area owner = routes.owner(p.backend(), p.key());
                    if (owner == null || !owner.target().equals(pool.name())) {
                        // Outside what was walked (the rules or members changed since): ask the member.
                        ObjectInfo info = member.stat(p.key());
                        copy = info == null || info.folder() ? null : info;
                    }
                }
                if (copy != null && copy.size() != p.size()) {
                    note = "holds " + copy.size() + " bytes";
                }
                if (copy == null || note != null) {
                    problems.add(new CopyProblem(true, pool.name(), p.backend(), p.key(), p.size(), copy, note));
                }
            }
            after = page.get(page.size() - 1).key();
        }
        for (Map.Entry<String, Map<String, ObjectInfo>> m : held.entrySet()) {
            for (ObjectInfo extra : m.getValue().values()) {
                problems.add(new CopyProblem(false, pool.name(), m.getKey(), extra.key(), extra.size(), extra, null));
            }
        }
        problems.sort(Comparator.comparing(CopyProblem::key).thenComparing(CopyProblem::backend)
                .thenComparing(c -> !c.missing()));
        return problems;
    }

    /**
     * Reads each object with a recorded SHA-256 from its backend or pool (not through a
     * user's chain: no transfer is counted) and compares. An object whose size differs is
     * not read. A digest the ledger changed meanwhile (a new upload on a running gateway)
     * is not a problem.
     */
    static Report verify(Report report, Backends backends, JdbcLedger ledger) throws IOException {
        Map<String, Storage> targets = new TreeMap<>(backends.all());
        targets.putAll(backends.pools());
        List<DigestProblem> problems = new ArrayList<>();
        long verified = 0;
        for (Map.Entry<String, Storage> t : targets.entrySet()) {
            String after = null;
            while (true) {
                List<ObjectDigest> page = ledger.digests(t.getKey(), "", after, PAGE);
                if (page.isEmpty()) {
                    break;
                }
                for (ObjectDigest d : page) {
                    verified++;
                    DigestProblem p = check(t.getValue(), d);
                    if (p != null && d.equals(ledger.digest(d.backend(), d.key()))) {
                        problems.add(p);
                    }
                }
                after = page.get(page.size() - 1).key();
            }
        }
        return new Report(report.rows(), report.copies(), problems, verified);
    }

    private static DigestProblem check(Storage storage, ObjectDigest d) throws IOException {
        ObjectInfo info = storage.stat(d.key());
        if (info == null || info.folder()) {
            return new DigestProblem(d, null, -1);
        }
        if (info.size() != d.size()) {
            return new DigestProblem(d, "(not read)", info.size());
        }
        byte[] now;
        try {
            now = storage.digest(d.key(), DigestAlgorithm.SHA_256);
        } catch (GatewayException e) {
            return null; // changed while read: an upload of a running gateway
        }
        if (now == null) {
            return new DigestProblem(d, null, -1);
        }
        String hex = DigestAlgorithm.hex(now);
        return hex.equals(d.sha256()) ? null : new DigestProblem(d, hex, info.size());
    }

    /**
     * Removes the extra copies from their members and forgets the missing ones, then adopts
     * the plain backends' figures and the pools' logical totals as their placements now are.
     */
    private void fix(Report report, Backends backends, JdbcLedger ledger) throws IOException {
        // Another gateway may be storing and recording an upload right now on a shared ledger.
        Instant recent = ledger.heldAlone() ? null : Instant.now().minus(SHARED_LEDGER_GRACE);
        for (CopyProblem c : report.copies()) {
            out.println(fix(c, backends.all(), ledger, recent));
        }
        for (DigestProblem d : report.digests()) {
            ObjectDigest r = d.recorded();
            // Only the digest is forgotten, as long as it is still the one found wrong.
            if (r.equals(ledger.digest(r.backend(), r.key()))) {
                // A change of the digest alone moves no user's totals: the user is only a label.
                ledger.changed(new StoredChange(r.backend(), "reconcile", 0, 0)
                        .with(new DigestChange.Stored(r.key(), r.size(), null)));
                out.println("forgot the digest of backend=" + r.backend() + " key=" + r.key());
            }
        }
        for (Row r : report.rows()) {
            if (r.drifts() && !backends.pools().containsKey(r.backend())) {
                ledger.adopt(r.backend(), r.user(), r.actual(), "reconcile --fix: backend listing");
            }
        }
        // Forgotten copies may have taken whole objects out of a pool: its totals as of now.
        Map<String, Map<String, StoredTotals>> placed = ledger.placedTotals();
        Map<String, Map<String, StoredTotals>> stored = ledger.storedTotals();
        for (String pool : backends.pools().keySet()) {
            for (Row r : rows(pool, stored.get(pool), placed.get(pool))) {
                if (r.drifts()) {
                    ledger.adopt(pool, r.user(), r.actual(), "reconcile --fix: pool placements");
                }
            }
        }
    }

    /** Repairs one copy problem, unless it has changed since; says what was done. */
    private static String fix(CopyProblem c, Map<String, Storage> all, JdbcLedger ledger, Instant recent)
            throws IOException {
        Storage member = all.get(c.backend());
        String kind = c.missing() ? "missing copy: " : "extra copy: ";
        if (member == null) {
            return "left " + kind + c.where() + " (" + c.backend() + " is not a configured backend)";
        }
        ObjectInfo now = member.stat(c.key());
        if (now != null && now.folder()) {
            now = null;
        }
        if (now != null && recent != null && now.modified().isAfter(recent)) {
            return "left " + kind + c.where() + " (changed less than " + SHARED_LEDGER_GRACE.toMinutes()
                    + " minutes ago: an upload may be recording it)";
        }
        Placement named = null;
        for (Placement p : ledger.copies(c.pool(), c.key())) {
            if (p.backend().equals(c.backend())) {
                named = p;
            }
        }
        if (!c.missing()) {
            if (named != null) {
                return "left " + kind + c.where() + " (the ledger names it now)";
            }
            if (now == null) {
                return "left " + kind + c.where() + " (gone already)";
            }
            member.delete(c.key());
            return "removed " + kind + c.where();
        }
        if (named == null) {
            return "left " + kind + c.where() + " (the ledger no longer names it)";
        }
        if (now != null && now.size() == named.size()) {
            return "left " + kind + c.where() + " (the backend holds it now)";
        }
        String user = ledger.owner(c.pool(), c.key());
        // A good copy elsewhere is the source of a new one here, made by a gateway's
        // replicator once it runs: the object gets its copies back.
        Placement source = null;
        for (Placement p : ledger.copies(c.pool(), c.key())) {
            Storage other = all.get(p.backend());
            if (source == null && !p.backend().equals(c.backend()) && other != null) {
                ObjectInfo there = other.stat(c.key());
                if (there != null && !there.folder() && there.size() == p.size()) {
                    source = p;
                }
            }
        }
        List<PendingCopy> again = source == null ? List.of() : List.of(new PendingCopy(source, c.backend()));
        ledger.changed(new StoredChange(c.pool(), user, 0, 0, List.of(named), List.of(), again));
        String queued = source == null ? "" : "; queued a new copy from " + source.backend();
        if (now != null) {
            // Once forgotten, the object of another size is one the ledger does not name.
            member.delete(c.key());
            return "forgot " + kind + c.where() + "; removed the backend's " + now.size() + " bytes there" + queued;
        }
        return "forgot " + kind + c.where() + queued;
    }

    private void print(Report report) {
        List<Row> rows = report.rows();
        String fmt = "%-12s %-14s %16s %16s %16s %10s %10s %10s%n";
        out.printf(fmt, "backend", "user", "ledger bytes", "backend bytes", "drift bytes", "ledger obj", "backend obj", "drift obj");
        for (Row r : rows) {
            out.printf(fmt, r.backend(), r.user(), r.ledger().bytes(), r.actual().bytes(),
                    signed(r.actual().bytes() - r.ledger().bytes()), r.ledger().objects(), r.actual().objects(),
                    signed(r.actual().objects() - r.ledger().objects()));
        }
        for (CopyProblem c : report.copies()) {
            out.println(c.describe());
        }
        for (DigestProblem d : report.digests()) {
            out.println(d.describe());
        }
        List<String> summary = new ArrayList<>();
        long drifting = rows.stream().filter(Row::drifts).count();
        if (drifting > 0) {
            summary.add(drifting + " of " + rows.size() + " drift");
        }
        long missing = report.copies().stream().filter(CopyProblem::missing).count();
        long extra = report.copies().size() - missing;
        if (missing > 0) {
            summary.add(missing + " missing " + (missing == 1 ? "copy" : "copies"));
        }
        if (extra > 0) {
            summary.add(extra + " extra " + (extra == 1 ? "copy" : "copies"));
        }
        if (!report.digests().isEmpty()) {
            long gone = report.digests().stream().filter(d -> d.actual() == null).count();
            long wrong = report.digests().size() - gone;
            if (wrong > 0) {
                summary.add(wrong + " digest " + (wrong == 1 ? "mismatch" : "mismatches"));
            }
            if (gone > 0) {
                summary.add(gone + " " + (gone == 1 ? "digest" : "digests") + " of missing objects");
            }
        }
        if (report.verified() >= 0) {
            out.println("verified " + report.verified() + " recorded " + (report.verified() == 1 ? "digest" : "digests"));
        }
        out.println(summary.isEmpty() ? "no drift" : String.join(", ", summary));
    }

    private static String signed(long v) {
        return v > 0 ? "+" + v : Long.toString(v);
    }

    /**
     * Where the gateway sends each user's keys: to the backend or pool of the longest folder
     * rule covering a key, else to the user's own.
     */
    static final class Routes {
        /** A folder of a user (its home, or a rule's folder) as a key prefix, and where its keys go. */
        record Area(String user, String prefix, String target) {
            boolean covers(String key) {
                return Routes.covers(prefix, key);
            }
        }

        /** True when {@code key} is the folder {@code prefix} or lies under it ("" holds every key). */
        static boolean covers(String prefix, String key) {
            return prefix.isEmpty() || key.equals(prefix) || key.startsWith(prefix + "/");
        }

        /** Per user, longest home first: its rules' areas, longest first, then its home's. */
        private final List<List<Area>> byUser = new ArrayList<>();
        /** pool -> its member backends. */
        private final Map<String, Set<String>> members = new HashMap<>();

        Routes(List<UserConfig> users, Map<String, PoolStorage> pools) throws GatewayException {
            for (PoolStorage p : pools.values()) {
                members.put(p.name(), p.members().stream().map(Member::name).collect(Collectors.toSet()));
            }
            List<UserConfig> sorted = new ArrayList<>(users);
            sorted.sort(Comparator.comparingInt((UserConfig u) -> homeKey(u).length()).reversed());
            for (UserConfig u : sorted) {
                List<Area> areas = new ArrayList<>();
                for (FolderRule rule : u.folders()) {
                    areas.add(new Area(u.name(), StoragePaths.key(u.home(), StoragePaths.normalize("/", rule.path())),
                            rule.backend()));
                }
                areas.sort(Comparator.comparingInt((Area a) -> a.prefix().length()).reversed());
                areas.add(new Area(u.name(), homeKey(u), u.backend()));
                byUser.add(areas);
            }
        }

        private static String homeKey(UserConfig u) {
            return u.home().equals("/") ? "" : u.home().substring(1);
        }

        List<Area> areas() {
            return byUser.stream().flatMap(List::stream).toList();
        }

        /** True when the keys of {@code target} (a backend or a pool) may lie on {@code backend}. */
        private boolean reaches(String target, String backend) {
            return target.equals(backend) || members.getOrDefault(target, Set.of()).contains(backend);
        }

        /**
         * The area whose route leads a key on {@code backend} there, directly or through a
         * pool the backend is a member of: of the user with the longest home that has one.
         * Null when no user's route leads the key to this backend.
         */
        Area owner(String backend, String key) {
            for (List<Area> areas : byUser) {
                Area home = areas.get(areas.size() - 1);
                if (!home.prefix().isEmpty() && !key.startsWith(home.prefix() + "/")) {
                    continue;
                }
                for (Area a : areas) {
                    if (a.covers(key)) {
                        if (reaches(a.target(), backend)) {
                            return a;
                        }
                        break; // the longest rule covering the key decides, for this user
                    }
                }
            }
            return null;
        }

        /** The folders to walk on {@code backend}: those of the areas that may lead there, none inside another. */
        List<String> prefixes(String backend) {
            List<String> all = new ArrayList<>(new TreeSet<>(areas().stream()
                    .filter(a -> reaches(a.target(), backend)).map(Area::prefix).toList()));
            all.sort(Comparator.comparingInt(String::length));
            List<String> outer = new ArrayList<>();
            for (String p : all) {
                if (outer.stream().noneMatch(o -> covers(o, p))) {
                    outer.add(p);
                }
            }
            return outer;
        }
    }
}
