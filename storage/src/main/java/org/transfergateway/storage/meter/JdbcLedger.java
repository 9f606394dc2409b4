package org.transfergateway.storage.meter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger in an SQL database: an embedded SQLite file by default (H2 for a ledger of
 * an earlier release), or any JDBC URL (PostgreSQL) with the same schema and statements.
 * SQLite replaced H2 as the default because its commits cost a fraction of the CPU (an
 * append to the write-ahead log, no page serialization in Java) and its native code needs
 * no JIT warm-up.
 *
 * <p>Every transfer is a row, inserted as {@code active} when it starts and updated once
 * when it ends, in the same transaction as the change of the stored totals: a completed
 * transfer is counted exactly once. Each row names the node (gateway) that runs it.
 * {@link #recover()} turns the rows still {@code active} that a crash of this node
 * interrupted into {@code failed}, with the bytes last recorded for them; the rows of other
 * gateways sharing the database are theirs to end. An embedded database is held by one
 * process at a time, so there every {@code active} row is a crash's.
 *
 * <p>The multipart uploads that transfers open on a backend are recorded too, durably
 * before their first part is sent, and forgotten once completed or aborted: after a
 * crash, {@link #abandonedUploads()} names exactly those the crashed transfers left.
 *
 * <p>Where pools keep the copies of their objects ({@link Placements}) is a row per copy,
 * removed and added in the same transaction as the stored change that moves them; so are
 * the copies that async pools still have to make ({@link CopyQueue}), a row per task.
 *
 * <p>Writes are group-committed: callers queue them and wait, and one writer thread runs
 * whatever has queued up in one transaction, each write behind a savepoint so that one
 * refused write does not undo the others. A write returns only once its commit is done,
 * so durability is unchanged, while concurrent transfers share the cost of a commit.
 * A start is the exception: it is queued without waiting (see {@link #started}).
 * A writer thread that stays busy commits more transfers a second than callers taking
 * turns to commit for each other: it never waits for a caller to wake up. A caller that
 * finds the writer idle and nothing queued commits its write itself, without the
 * hand-off to the writer and back.
 *
 * <p>Queries ({@link #recent}, {@link #transferred}, {@link #throughput}, {@link #copies},
 * {@link #under}, {@link #pendingCopies}, {@link #pendingTotals}) run on connections of
 * their own ({@link ReadConnections}), never waiting behind a commit batch: SQLite's
 * write-ahead log lets them read beside the writer (see {@link #lockOut} for why the
 * embedded file is opened in normal locking mode), H2 opens the same URL again in the
 * process, PostgreSQL gives each its session. A query sees what was committed before it
 * began. The reads of the tools and of start-up stay on the writer's connection.
 *
 * <p>Each finished transfer also adds to the throughput of the minute it ended in
 * ({@link ThroughputMinute}), in the transaction that ends it; the writer deletes minutes
 * older than {@link #THROUGHPUT_KEPT} once an hour.
 */
public final class JdbcLedger implements Ledger {
    private static final Logger log = LoggerFactory.getLogger(JdbcLedger.class);

    /** Schema versions in order; a database at version n runs the statements after n. */
    private static final List<List<String>> MIGRATIONS = List.of(
            List.of(
                    "CREATE TABLE ledger_info (name VARCHAR(64) PRIMARY KEY, val VARCHAR(256) NOT NULL)",
                    "CREATE TABLE transfers (id VARCHAR(64) PRIMARY KEY, user_name VARCHAR(128) NOT NULL,"
                            + " protocol VARCHAR(8) NOT NULL, direction VARCHAR(3) NOT NULL, path VARCHAR(4096) NOT NULL,"
                            + " backend VARCHAR(64) NOT NULL, bytes BIGINT NOT NULL, outcome VARCHAR(16) NOT NULL,"
                            + " started_at BIGINT NOT NULL, ended_at BIGINT)",
                    "CREATE INDEX transfers_started ON transfers (started_at)",
                    "CREATE INDEX transfers_outcome ON transfers (outcome)",
                    "CREATE TABLE stored_totals (backend VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL,"
                            + " bytes BIGINT NOT NULL, objects BIGINT NOT NULL, PRIMARY KEY (backend, user_name))"),
            List.of(
                    "CREATE TABLE adjustments (at_millis BIGINT NOT NULL, backend VARCHAR(64) NOT NULL,"
                            + " user_name VARCHAR(128) NOT NULL, bytes_delta BIGINT NOT NULL, objects_delta BIGINT NOT NULL,"
                            + " reason VARCHAR(256) NOT NULL)"),
            // Every transfer's start and end had to update it, and nothing needs it: the
            // recovery at open and the totals read the whole table anyway.
            List.of("DROP INDEX transfers_outcome"),
            // Rows of earlier releases have no node: whoever recovers first takes them.
            List.of("ALTER TABLE transfers ADD COLUMN node VARCHAR(128)",
                    "CREATE TABLE transfer_uploads (backend VARCHAR(64) NOT NULL, upload_id VARCHAR(1024) NOT NULL,"
                            + " transfer_id VARCHAR(64) NOT NULL, object_key VARCHAR(4096) NOT NULL,"
                            + " PRIMARY KEY (backend, upload_id))"),
            // Where the copies of pools' objects live: the primary key serves a key's copies
            // and the prefix ranges of listings; seq orders the copies of a key as recorded.
            // {binary}: see POSTGRES_BINARY.
            List.of("CREATE TABLE placements (pool VARCHAR(64) NOT NULL, object_key VARCHAR(1024){binary} NOT NULL,"
                    + " backend VARCHAR(64){binary} NOT NULL, user_name VARCHAR(128) NOT NULL, size BIGINT NOT NULL,"
                    + " modified_millis BIGINT NOT NULL, seq BIGINT DEFAULT 0 NOT NULL,"
                    + " PRIMARY KEY (pool, object_key, backend))"),
            // The copies that async pools still have to make, one row per object and target
            // member (see CopyQueue): source, size and modified name the copy to read; a row
            // is claimed by a node until claimed_until_millis.
            List.of("CREATE TABLE replication_queue (id VARCHAR(36) PRIMARY KEY, pool VARCHAR(64) NOT NULL,"
                            + " object_key VARCHAR(1024){binary} NOT NULL, target VARCHAR(64) NOT NULL,"
                            + " source VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL, size BIGINT NOT NULL,"
                            + " modified_millis BIGINT NOT NULL, enqueued_millis BIGINT NOT NULL,"
                            + " attempts INT DEFAULT 0 NOT NULL, next_attempt_millis BIGINT NOT NULL,"
                            + " claimed_by VARCHAR(128), claimed_until_millis BIGINT)",
                    "CREATE INDEX replication_queue_key ON replication_queue (pool, object_key)",
                    "CREATE INDEX replication_queue_due ON replication_queue (next_attempt_millis)"),
            // Throughput per minute, protocol, direction and user, kept THROUGHPUT_KEPT: each
            // finished transfer adds to the minute it ended in, in the transaction that ends it.
            // protocol holds the id in lower case (Protocol allows 32 characters).
            List.of("CREATE TABLE throughput_minutes (minute_millis BIGINT NOT NULL, protocol VARCHAR(32) NOT NULL,"
                    + " direction VARCHAR(3) NOT NULL, user_name VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL,"
                    + " files BIGINT NOT NULL, failed BIGINT NOT NULL,"
                    + " PRIMARY KEY (minute_millis, protocol, direction, user_name))",
                    // The transfers already ended, from their rows (the writer then deletes
                    // the minutes past THROUGHPUT_KEPT).
                    "INSERT INTO throughput_minutes (minute_millis, protocol, direction, user_name, bytes, files, failed)"
                            + " SELECT (ended_at / 60000) * 60000, LOWER(protocol), direction, user_name, SUM(bytes),"
                            + " SUM(CASE WHEN outcome = 'completed' THEN 1 ELSE 0 END),"
                            + " SUM(CASE WHEN outcome = 'completed' THEN 0 ELSE 1 END) FROM transfers"
                            + " WHERE outcome <> 'active' AND ended_at IS NOT NULL"
                            + " GROUP BY (ended_at / 60000) * 60000, LOWER(protocol), direction, user_name"),
            // The node registry: each gateway's row, its heartbeat count and when a live node
            // counted it dead (see register, heartbeat).
            List.of("CREATE TABLE nodes (node_id VARCHAR(128) PRIMARY KEY, started_millis BIGINT NOT NULL,"
                    + " heartbeat_millis BIGINT NOT NULL, beats BIGINT NOT NULL, lease_millis BIGINT NOT NULL,"
                    + " serves VARCHAR(1024) NOT NULL, version VARCHAR(64) NOT NULL, dead_millis BIGINT)"),
            // What each node has added to the totals since this version: the others' growth
            // since a node loaded is what it must add to its own counts (see others()).
            // node_stored's kind is 'stored' (per backend or pool) or 'copies' (per member).
            // The active transfers of other nodes are read every second: PostgreSQL, where
            // nodes share the ledger, gets an index of them (a partial one, which H2 lacks).
            List.of("CREATE TABLE node_transferred (node VARCHAR(128) NOT NULL, protocol VARCHAR(32) NOT NULL,"
                            + " direction VARCHAR(3) NOT NULL, user_name VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL,"
                            + " files BIGINT NOT NULL, failed BIGINT NOT NULL, PRIMARY KEY (node, protocol, direction, user_name))",
                    "CREATE TABLE node_stored (node VARCHAR(128) NOT NULL, kind VARCHAR(8) NOT NULL,"
                            + " backend VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL,"
                            + " objects BIGINT NOT NULL, PRIMARY KEY (node, kind, backend, user_name))",
                    "{postgres}CREATE INDEX transfers_active ON transfers (node) WHERE outcome = 'active'"),
            // Cluster-wide limits: the quota that uploads in progress hold (see reserve), the
            // logged-in sessions per user (see openSession), failed logins and bans per client
            // address (see loginFailed). Rows of a node go when it stops, recovers or is counted dead.
            List.of("CREATE TABLE quota_reservations (id VARCHAR(64) PRIMARY KEY, node VARCHAR(128) NOT NULL,"
                            + " user_name VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL, files BIGINT NOT NULL)",
                    "CREATE INDEX quota_reservations_user ON quota_reservations (user_name)",
                    "CREATE TABLE user_sessions (id VARCHAR(64) PRIMARY KEY, node VARCHAR(128) NOT NULL,"
                            + " user_name VARCHAR(128) NOT NULL, protocol VARCHAR(32) NOT NULL, started_millis BIGINT NOT NULL)",
                    "CREATE INDEX user_sessions_user ON user_sessions (user_name)",
                    "CREATE TABLE login_failures (address VARCHAR(64) PRIMARY KEY, failures INT NOT NULL,"
                            + " first_millis BIGINT NOT NULL, banned_until_millis BIGINT NOT NULL)"),
            // The counter rows each transfer's end adds to, per node (see rowNode): nodes
            // sharing a ledger added to the same rows, whose locks each commit held to its
            // end, so the nodes' commits ran one at a time. Readers sum the nodes' rows; the
            // rows of earlier versions keep the node ''.
            List.of("CREATE TABLE throughput_minutes_n (minute_millis BIGINT NOT NULL, protocol VARCHAR(32) NOT NULL,"
                            + " direction VARCHAR(3) NOT NULL, user_name VARCHAR(128) NOT NULL, node VARCHAR(128) NOT NULL,"
                            + " bytes BIGINT NOT NULL, files BIGINT NOT NULL, failed BIGINT NOT NULL,"
                            + " PRIMARY KEY (minute_millis, protocol, direction, user_name, node))",
                    "INSERT INTO throughput_minutes_n (minute_millis, protocol, direction, user_name, node, bytes, files,"
                            + " failed) SELECT minute_millis, protocol, direction, user_name, '', bytes, files, failed"
                            + " FROM throughput_minutes",
                    "DROP TABLE throughput_minutes",
                    "ALTER TABLE throughput_minutes_n RENAME TO throughput_minutes",
                    "CREATE TABLE stored_totals_n (backend VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL,"
                            + " node VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL, objects BIGINT NOT NULL,"
                            + " PRIMARY KEY (backend, user_name, node))",
                    "INSERT INTO stored_totals_n (backend, user_name, node, bytes, objects)"
                            + " SELECT backend, user_name, '', bytes, objects FROM stored_totals",
                    "DROP TABLE stored_totals",
                    "ALTER TABLE stored_totals_n RENAME TO stored_totals"),
            // The SHA-256 (lower-case hex) of each object written whole, by the backend or pool
            // the user's rule names and key, recorded with its commit's stored change and moved
            // or removed with its rename or delete (see DigestChange). Appends and the objects
            // of earlier versions have none. {binary}: see POSTGRES_BINARY.
            List.of("CREATE TABLE object_digests (backend VARCHAR(64) NOT NULL, object_key VARCHAR(1024){binary} NOT NULL,"
                    + " size BIGINT NOT NULL, sha256 VARCHAR(64) NOT NULL, recorded_millis BIGINT NOT NULL,"
                    + " PRIMARY KEY (backend, object_key))"),
            // Resumable (tus) uploads in progress: who, where to, how far (see ResumableUploads).
            // The partial bytes live with the node that took them.
            List.of("CREATE TABLE resumable_uploads (id VARCHAR(64) PRIMARY KEY, node VARCHAR(128) NOT NULL,"
                            + " user_name VARCHAR(128) NOT NULL, path VARCHAR(4096) NOT NULL, total_length BIGINT NOT NULL,"
                            + " upload_offset BIGINT NOT NULL, metadata VARCHAR(4096) NOT NULL,"
                            + " created_millis BIGINT NOT NULL, expires_millis BIGINT NOT NULL, finished_millis BIGINT)",
                    "CREATE INDEX resumable_uploads_expires ON resumable_uploads (node, expires_millis)"),
            // A resumable upload whose partial bytes the backend keeps (an S3 multipart
            // upload and a side object): the backend's state and the running SHA-256 of the
            // bytes so far, recorded with each offset (see ResumableUploads.advanceUpload).
            List.of("ALTER TABLE resumable_uploads ADD COLUMN staged VARCHAR(1000000)",
                    "ALTER TABLE resumable_uploads ADD COLUMN digest_state VARCHAR(1024)"));

    /** How long the per-minute throughput is kept; the writer deletes older minutes once an hour. */
    static final java.time.Duration THROUGHPUT_KEPT = java.time.Duration.ofDays(7);
    private static final long PRUNE_EVERY_MILLIS = java.time.Duration.ofHours(1).toMillis();

    /**
     * What {@code {binary}} in a migration becomes: a collation that compares strings by
     * their code points, as prefix ranges need. PostgreSQL would otherwise compare by the
     * database's locale (en_US sorts "a/bc" between "a/b/" and "a/b0"); H2 compares as
     * {@link String#compareTo} and SQLite by UTF-8 bytes anyway.
     */
    private static final String POSTGRES_BINARY = " COLLATE \"C\"";
    /**
     * The first key of the advisory lock (two-key form, a key space apart from the one-key
     * locks of users and commits) that orders the migrations of nodes starting together.
     */
    private static final int MIGRATION_LOCK_CLASS = 0x54474d31;

    /** Writes run together in one transaction, at most this many. */
    private static final int MAX_BATCH = 256;

    private final Connection db;
    /**
     * The connections of the queries ({@link #read}), apart from {@link #db}; null for a
     * database that only one connection sees (SQLite or H2 in memory without a name), whose
     * queries take turns with the writer on {@link #db}.
     */
    private ReadConnections readers;
    /** The queries' stand-in for {@link #readers} on {@link #db}; guarded by {@code this}. */
    private final ReadConnections.Reader onWriter;
    /**
     * Held while open on {@code <file>.lock} of an embedded SQLite ledger in exclusive mode:
     * it keeps other gateways out where SQLite's exclusive locking mode did (see {@link #open}).
     */
    private java.nio.channels.FileChannel lockFile;
    /** When the writer next deletes the minutes past {@link #THROUGHPUT_KEPT}; guarded by {@code this}. */
    private long nextPrune;
    /** H2, which has no INSERT ... ON CONFLICT. */
    private final boolean h2;
    /** SQLite, whose savepoints the batch sets itself ({@link #savepoint()}). */
    private final boolean sqlite;
    /** Whose transfers this ledger starts and recovers. */
    private final String node;
    /**
     * The node whose counter rows (throughput_minutes, stored_totals) this ledger adds to:
     * its own where nodes share the ledger, so that no two nodes' commits wait for each
     * other's row locks; '' for a ledger one gateway holds, whose node may change.
     */
    private final String rowNode;
    /**
     * The counter additions of the batch being written, summed and written once before its
     * commit; null outside {@link #runBatch} (recovery, adoption write at once). Guarded by {@code this}.
     */
    private BatchSums sums;
    /** The update and insert of {@link #upsertLocked} per table (each table has one shape). */
    private final Map<String, String[]> upserts = new java.util.concurrent.ConcurrentHashMap<>();
    /** Held by this process alone (an embedded file): every active row is this process's. */
    private final boolean exclusive;
    /** True when this open created the database: its stored totals start from zero. */
    private boolean created;
    /** Prepared statements of the writes, by SQL; guarded by {@code this}. */
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private final Clock clock;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    /** Held while a batch runs, by the writer or by a caller committing alone. */
    private final ReentrantLock committing = new ReentrantLock();
    /** Guarded by {@link #queue}: nothing is queued after {@link #stop}. */
    private boolean closed;
    /**
     * Writes queued or in the writer's running batch; guarded by {@link #queue}. A caller
     * commits alone only when there are none, so writes commit in the order they were made.
     */
    private int unfinished;
    /** Why the last commit failed, until one succeeds; new transfers are refused meanwhile. */
    private volatile IOException broken;

    /** Set once by {@link #open}. */
    private CommitLocks commitLocks;

    /** PostgreSQL, whose migrations name a collation ({@link #POSTGRES_BINARY}). */
    private final boolean postgres;
    /**
     * True when the database orders strings as {@link String#compareTo}, by UTF-16 code
     * units (H2); false when by code points (SQLite's UTF-8 bytes, PostgreSQL's "C"). The
     * two differ only for characters beyond U+FFFF against U+E000 to U+FFFF.
     */
    private final boolean utf16Order;

    private JdbcLedger(Connection db, Clock clock, String node, boolean exclusive) throws SQLException {
        this.db = db;
        this.clock = clock;
        this.node = node;
        this.rowNode = exclusive ? "" : node;
        this.exclusive = exclusive;
        String product = db.getMetaData().getDatabaseProductName();
        this.postgres = product.equalsIgnoreCase("PostgreSQL");
        this.utf16Order = product.equalsIgnoreCase("H2");
        this.h2 = utf16Order;
        this.sqlite = product.equalsIgnoreCase("SQLite");
        this.onWriter = new ReadConnections.Reader(db);
        this.writer = new Thread(this::writeLoop, "ledger-writer");
        writer.setDaemon(true);
    }

    /** One queued write: statements on {@link #db}, run inside a commit's transaction. */
    private interface Write {
        void run() throws SQLException, IOException;
    }

    private record Pending(Write write, String failure, CompletableFuture<Void> done) {
    }

    /** Queued last by {@link #close()}: the writer stops once everything before it has run. */
    private final Pending stop = new Pending(() -> { }, "", new CompletableFuture<>());

    /**
     * Opens the ledger for one process that runs no transfers beside others (tools, tests):
     * as {@link #open(String, Clock, String)} with the node {@code local}.
     */
    public static JdbcLedger open(String jdbcUrl, Clock clock) throws IOException {
        return open(jdbcUrl, clock, "local");
    }

    /**
     * Opens (creating and migrating as needed) the ledger at a JDBC URL, for the gateway
     * {@code node}. An embedded database file that exists but is empty is refused: SQLite
     * would take it for a new database and start every total from zero.
     */
    public static JdbcLedger open(String jdbcUrl, Clock clock, String node) throws IOException {
        Path file = embeddedFile(jdbcUrl);
        if (file != null && Files.isRegularFile(file) && Files.size(file) == 0) {
            throw new IOException(file + " is empty (0 bytes), not a ledger: restore it from a backup, or remove it"
                    + " to start from zero and adopt the backends' figures with reconcile --fix");
        }
        Connection c = null;
        java.nio.channels.FileChannel lock = null;
        try {
            createSqliteFolder(jdbcUrl);
            String url = jdbcUrl;
            if (file != null && jdbcUrl.startsWith("jdbc:sqlite:") && jdbcUrl.contains("locking_mode=EXCLUSIVE")) {
                lock = lockOut(file);
                url = jdbcUrl.replace("locking_mode=EXCLUSIVE", "locking_mode=NORMAL");
            }
            c = connect(url);
            JdbcLedger ledger = new JdbcLedger(c, clock, node, isExclusive(jdbcUrl));
            ledger.lockFile = lock;
            ledger.commitLocks = jdbcUrl.startsWith("jdbc:postgresql:") ? new PostgresCommitLocks(jdbcUrl) : CommitLocks.inProcess();
            ledger.migrate();
            ledger.claim();
            ledger.readers = sharedInProcess(url) ? new ReadConnections(url) : null;
            ledger.writer.start();
            return ledger;
        } catch (SQLException e) {
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // the open failure is what counts
                }
            }
            releaseQuietly(lock);
            String what = file != null ? file.toString() : "at " + jdbcUrl;
            throw new IOException("ledger " + what + " cannot be opened: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            releaseQuietly(lock);
            throw e;
        }
    }

    /**
     * Connects the writer. SQLite's driver by default follows every INSERT with a query of
     * its own for the generated key (a regular expression over the SQL, then {@code SELECT
     * last_insert_rowid()} prepared anew): the ledger never reads those keys, and skipping
     * them raised its commit rate by a fifth. A URL that sets the option itself keeps it.
     */
    static Connection connect(String url) throws SQLException {
        if (!url.startsWith("jdbc:sqlite:")) {
            return DriverManager.getConnection(url);
        }
        Properties p = new Properties();
        p.setProperty("jdbc.get_generated_keys", "false");
        return DriverManager.getConnection(url, p);
    }

    /**
     * Locks {@code <file>.lock} for this process, or refuses when another holds it. SQLite's
     * exclusive locking mode (of the embedded default URL) would keep the queries' own
     * connections out as well as other processes: in WAL mode it keeps the log's index in
     * the one connection's memory. So this ledger opens the file in normal locking mode, where
     * queries read beside the writer, and keeps other gateways of this release out with this
     * lock instead, held until {@link #close()} (an OS lock: a crash releases it).
     */
    private static java.nio.channels.FileChannel lockOut(Path file) throws IOException {
        Path lockPath = file.resolveSibling(file.getFileName() + ".lock");
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lockPath,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        try {
            if (ch.tryLock() != null) {
                return ch;
            }
        } catch (java.nio.channels.OverlappingFileLockException e) {
            // held by this process: another ledger open on the file
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        ch.close();
        throw new IOException("ledger " + file + " cannot be opened: the database is locked by another gateway ("
                + lockPath + ")");
    }

    private static void releaseQuietly(java.nio.channels.FileChannel lock) {
        if (lock != null) {
            try {
                lock.close(); // releases the lock
            } catch (IOException e) {
                log.warn("ledger lock release failed: {}", e.toString());
            }
        }
    }

    /**
     * True when another connection to {@code jdbcUrl} in this process sees the same
     * database: not for SQLite in memory or in a temporary file, nor for H2 in memory
     * without a name.
     */
    static boolean sharedInProcess(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:sqlite:")) {
            return embeddedFile(jdbcUrl) != null && !jdbcUrl.contains("mode=memory");
        }
        if (jdbcUrl.startsWith("jdbc:h2:mem:")) {
            String name = jdbcUrl.substring("jdbc:h2:mem:".length());
            int options = name.indexOf(';');
            return !(options < 0 ? name : name.substring(0, options)).isEmpty();
        }
        return true;
    }

    /**
     * Runs a query on a connection of its own ({@link #readers}): it never waits for a
     * commit batch, and sees what the commits before it have committed.
     */
    private <T> T read(ReadConnections.Query<T> q) throws SQLException {
        ReadConnections r = readers;
        if (r == null) {
            synchronized (this) {
                return q.run(onWriter);
            }
        }
        return r.query(q);
    }

    /** The file of an embedded database (SQLite, H2), or null for a server or memory. */
    static Path embeddedFile(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:sqlite:") && !jdbcUrl.startsWith("jdbc:sqlite::memory:")) {
            String file = jdbcUrl.substring("jdbc:sqlite:".length());
            int query = file.indexOf('?');
            file = query < 0 ? file : file.substring(0, query);
            return file.isEmpty() || file.startsWith("file:") ? null : Path.of(file).toAbsolutePath();
        }
        if (jdbcUrl.startsWith("jdbc:h2:file:")) {
            String base = jdbcUrl.substring("jdbc:h2:file:".length());
            int options = base.indexOf(';');
            return Path.of((options < 0 ? base : base.substring(0, options)) + ".mv.db").toAbsolutePath();
        }
        return null;
    }

    /**
     * True for the databases one process holds at a time: SQLite in exclusive locking
     * mode (the embedded default), H2 on a file or in memory.
     */
    private static boolean isExclusive(String jdbcUrl) {
        return jdbcUrl.startsWith("jdbc:sqlite:") && jdbcUrl.contains("locking_mode=EXCLUSIVE")
                || jdbcUrl.startsWith("jdbc:h2:file:") && !jdbcUrl.toUpperCase(java.util.Locale.ROOT).contains("AUTO_SERVER=TRUE")
                || jdbcUrl.startsWith("jdbc:h2:mem:");
    }

    /** True when this open created the ledger: its stored totals started from zero now. */
    public boolean created() {
        return created;
    }

    /** The node whose transfers this ledger starts and recovers. */
    @Override
    public String node() {
        return node;
    }

    /** SQLite creates its file but not the folder it lies in. */
    private static void createSqliteFolder(String jdbcUrl) throws IOException {
        if (!jdbcUrl.startsWith("jdbc:sqlite:") || jdbcUrl.startsWith("jdbc:sqlite::memory:")) {
            return;
        }
        String file = jdbcUrl.substring("jdbc:sqlite:".length());
        int query = file.indexOf('?');
        Path parent = Path.of(query < 0 ? file : file.substring(0, query)).toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }

    /**
     * Writes once at open, so that a database that locks per connection (SQLite in
     * exclusive mode, H2's file lock) refuses a second gateway now, not at its first transfer.
     */
    private synchronized void claim() throws SQLException {
        try (Statement st = db.createStatement()) {
            st.executeUpdate("UPDATE ledger_info SET val = val WHERE name = 'since'");
        }
    }

    private synchronized void migrate() throws SQLException {
        db.setAutoCommit(false);
        try (Statement st = db.createStatement()) {
            if (postgres) {
                // Nodes that start together on a new database migrate it one at a time: the
                // others wait here until the first commits, then find the schema current.
                st.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK_CLASS + ", 0)");
            }
            int version = schemaVersion();
            if (version < 0) {
                st.execute("CREATE TABLE schema_version (version INT NOT NULL)");
                st.execute("INSERT INTO schema_version (version) VALUES (0)");
                version = 0;
                created = true;
            }
            for (int v = version; v < MIGRATIONS.size(); v++) {
                for (String sql : MIGRATIONS.get(v)) {
                    if (sql.startsWith("{postgres}")) {
                        if (!postgres) {
                            continue;
                        }
                        sql = sql.substring("{postgres}".length());
                    }
                    st.execute(sql.replace("{binary}", postgres ? POSTGRES_BINARY : ""));
                }
                st.execute("UPDATE schema_version SET version = " + (v + 1));
                if (v == 0) {
                    try (PreparedStatement ps = db.prepareStatement("INSERT INTO ledger_info (name, val) VALUES ('since', ?)")) {
                        ps.setString(1, clock.instant().toString());
                        ps.executeUpdate();
                    }
                }
                log.info("ledger schema migrated to version {}", v + 1);
            }
            db.commit();
        } catch (SQLException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(true);
        }
    }

    private int schemaVersion() throws SQLException {
        if (postgres) {
            // A failed query would abort the migration's transaction: ask first.
            try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT to_regclass('schema_version')")) {
                if (!rs.next() || rs.getString(1) == null) {
                    return -1;
                }
            }
        }
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        } catch (SQLException e) {
            return -1; // no table yet
        }
    }

    /** The rows of this process: all of them in an exclusive database, else this node's and those of no node. */
    private String own(String alias) {
        String col = alias.isEmpty() ? "node" : alias + ".node";
        return exclusive ? "1 = 1" : "(" + col + " = ? OR " + col + " IS NULL)";
    }

    /** The interrupted transfers count as failed in the minute of their recovery. */
    @Override
    public synchronized int recover() throws IOException {
        long now = clock.millis();
        try {
            db.setAutoCommit(false);
            try (PreparedStatement sums = db.prepareStatement("SELECT protocol, direction, user_name, SUM(bytes), COUNT(*)"
                    + " FROM transfers WHERE outcome = 'active' AND " + own("") + " GROUP BY protocol, direction, user_name")) {
                if (!exclusive) {
                    sums.setString(1, node);
                }
                try (ResultSet rs = sums.executeQuery()) {
                    while (rs.next()) {
                        ThroughputMinute m = new ThroughputMinute(ThroughputMinute.minuteOf(Instant.ofEpochMilli(now)),
                                Protocol.of(rs.getString(1)), Direction.valueOf(rs.getString(2)), rs.getString(3),
                                rs.getLong(4), 0, rs.getLong(5));
                        addMinuteLocked(m);
                        addNodeTransferredLocked(node, m);
                    }
                }
            }
            int recovered;
            try (PreparedStatement ps = db.prepareStatement(
                    "UPDATE transfers SET outcome = 'failed', ended_at = ? WHERE outcome = 'active' AND " + own(""))) {
                ps.setLong(1, now);
                if (!exclusive) {
                    ps.setString(2, node);
                }
                recovered = ps.executeUpdate();
            }
            // The quota and sessions a crash left held: nothing of this node runs yet.
            for (String table : List.of("quota_reservations", "user_sessions")) {
                try (PreparedStatement ps = db.prepareStatement("DELETE FROM " + table + " WHERE " + own(""))) {
                    if (!exclusive) {
                        ps.setString(1, node);
                    }
                    ps.executeUpdate();
                }
            }
            db.commit();
            if (recovered > 0) {
                log.warn("ledger: {} transfers of node {} were interrupted by a stop without shutdown; recorded as failed",
                        recovered, node);
            }
            return recovered;
        } catch (SQLException e) {
            rollbackQuietly();
            throw new IOException("ledger cannot recover the transfers of node " + node + ": " + e.getMessage(), e);
        } finally {
            autoCommitQuietly();
        }
    }

    /**
     * Reads only: transfers still active (here or on another node) are in no total yet. One
     * snapshot (a transaction, repeatable on PostgreSQL), so that the others' additions read
     * with it are exactly those the totals hold.
     */
    @Override
    public synchronized State load() throws IOException {
        try {
            db.setAutoCommit(false);
            if (postgres) {
                db.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            }
            try {
                State s = loadLocked();
                db.commit();
                return s;
            } finally {
                rollbackQuietly();
                if (postgres) {
                    db.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                }
                autoCommitQuietly();
            }
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    private State loadLocked() throws IOException {
        try {
            Instant since;
            try (Statement st = db.createStatement();
                 ResultSet rs = st.executeQuery("SELECT val FROM ledger_info WHERE name = 'since'")) {
                since = rs.next() ? Instant.parse(rs.getString(1)) : clock.instant();
            }
            Map<Protocol, Map<String, Counters>> transferred;
            try (Statement st = db.createStatement();
                 ResultSet rs = st.executeQuery("SELECT protocol, user_name, direction, outcome, SUM(bytes), COUNT(*)"
                         + " FROM transfers WHERE outcome <> 'active' GROUP BY protocol, user_name, direction, outcome")) {
                transferred = counters(rs);
            }
            Map<String, Map<String, StoredTotals>> stored = new HashMap<>();
            try (Statement st = db.createStatement();
                 ResultSet rs = st.executeQuery("SELECT backend, user_name, SUM(bytes), SUM(objects) FROM stored_totals"
                         + " GROUP BY backend, user_name")) {
                while (rs.next()) {
                    stored.computeIfAbsent(rs.getString(1), k -> new HashMap<>())
                            .put(rs.getString(2), new StoredTotals(rs.getLong(3), rs.getLong(4)));
                }
            }
            Map<String, Map<String, StoredTotals>> copies = new HashMap<>();
            try (Statement st = db.createStatement();
                 ResultSet rs = st.executeQuery("SELECT backend, user_name, SUM(size), COUNT(*) FROM placements"
                         + " GROUP BY backend, user_name")) {
                while (rs.next()) {
                    copies.computeIfAbsent(rs.getString(1), k -> new HashMap<>())
                            .put(rs.getString(2), new StoredTotals(rs.getLong(3), rs.getLong(4)));
                }
            }
            Others others = shared() ? othersOn(onWriter) : Others.NONE;
            return new State(since, transferred, stored, copies, others);
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Queues the start without waiting for its commit: the end of the transfer waits for
     * its own commit, which comes after it, so a completed transfer is as durable as
     * before, while a small file waits for one commit instead of two. A crash within the
     * moment between a start and its commit leaves no trace of that transfer.
     */
    @Override
    public void started(Transfer t) throws IOException {
        IOException failing = broken;
        if (failing != null) {
            throw new IOException("ledger cannot record a start: " + failing.getMessage(), failing);
        }
        post("ledger cannot record the start of " + t.id(), () -> {
            PreparedStatement ps = statement("INSERT INTO transfers (id, user_name, protocol, direction, path,"
                    + " backend, bytes, outcome, started_at, node) VALUES (?, ?, ?, ?, ?, ?, 0, 'active', ?, ?)");
            ps.setString(1, t.id());
            ps.setString(2, t.user());
            ps.setString(3, t.protocol().id().toUpperCase(java.util.Locale.ROOT)); // upper case, as rows of older versions
            ps.setString(4, t.direction().name());
            ps.setString(5, t.path());
            ps.setString(6, t.backend());
            ps.setLong(7, t.startedAt().toEpochMilli());
            ps.setString(8, node);
            ps.executeUpdate();
        });
    }

    @Override
    public void progress(Collection<Transfer> active) throws IOException {
        if (active.isEmpty()) {
            return;
        }
        // The byte counts as they are now, not when the commit runs.
        long[] bytes = new long[active.size()];
        List<String> ids = new ArrayList<>();
        for (Transfer t : active) {
            bytes[ids.size()] = t.bytes();
            ids.add(t.id());
        }
        write("ledger cannot record progress", () -> {
            PreparedStatement ps = statement("UPDATE transfers SET bytes = ? WHERE id = ? AND outcome = 'active'");
            for (int i = 0; i < ids.size(); i++) {
                ps.setLong(1, bytes[i]);
                ps.setString(2, ids.get(i));
                ps.addBatch();
            }
            ps.executeBatch();
        });
    }

    @Override
    public void finished(TransferRecord r, StoredChange change) throws IOException {
        write("ledger cannot record the end of " + r.id(), () -> {
            PreparedStatement ps = statement(
                    "UPDATE transfers SET bytes = ?, outcome = ?, ended_at = ? WHERE id = ? AND outcome = 'active'");
            ps.setLong(1, r.bytes());
            ps.setString(2, r.succeeded() ? "completed" : "failed");
            ps.setLong(3, r.endedAt().toEpochMilli());
            ps.setString(4, r.id());
            if (ps.executeUpdate() != 1) {
                // Never counted twice: the row was already ended (or never started here).
                throw new IOException("transfer " + r.id() + " is not active in the ledger");
            }
            addMinuteLocked(ThroughputMinute.of(r));
            addNodeTransferredLocked(node, ThroughputMinute.of(r));
            pruneLocked();
            applyLocked(change);
        });
    }

    /** Adds a minute's counts to its row, in the running transaction (at its end, in a batch). */
    private void addMinuteLocked(ThroughputMinute m) throws SQLException {
        if (sums != null) {
            sums.add(BatchSums.Counter.MINUTE, List.of(m.minute().toEpochMilli(), m.protocol().id(), m.direction().name(),
                    m.user()), m.bytes(), m.files(), m.failed());
            return;
        }
        if (!h2) {
            PreparedStatement ps = statement("INSERT INTO throughput_minutes (minute_millis, protocol, direction,"
                    + " user_name, bytes, files, failed, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (minute_millis, protocol, direction, user_name, node) DO UPDATE SET"
                    + " bytes = throughput_minutes.bytes + excluded.bytes, files = throughput_minutes.files + excluded.files,"
                    + " failed = throughput_minutes.failed + excluded.failed");
            ps.setLong(1, m.minute().toEpochMilli());
            ps.setString(2, m.protocol().id());
            ps.setString(3, m.direction().name());
            ps.setString(4, m.user());
            ps.setLong(5, m.bytes());
            ps.setLong(6, m.files());
            ps.setLong(7, m.failed());
            ps.setString(8, rowNode);
            ps.executeUpdate();
            return;
        }
        // H2 (one process at a time, one writer): an update, else an insert.
        PreparedStatement up = statement("UPDATE throughput_minutes SET bytes = bytes + ?, files = files + ?,"
                + " failed = failed + ? WHERE minute_millis = ? AND protocol = ? AND direction = ? AND user_name = ?"
                + " AND node = ?");
        up.setLong(1, m.bytes());
        up.setLong(2, m.files());
        up.setLong(3, m.failed());
        up.setLong(4, m.minute().toEpochMilli());
        up.setString(5, m.protocol().id());
        up.setString(6, m.direction().name());
        up.setString(7, m.user());
        up.setString(8, rowNode);
        if (up.executeUpdate() == 1) {
            return;
        }
        PreparedStatement in = statement("INSERT INTO throughput_minutes (minute_millis, protocol, direction,"
                + " user_name, bytes, files, failed, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        in.setLong(1, m.minute().toEpochMilli());
        in.setString(2, m.protocol().id());
        in.setString(3, m.direction().name());
        in.setString(4, m.user());
        in.setLong(5, m.bytes());
        in.setLong(6, m.files());
        in.setLong(7, m.failed());
        in.setString(8, rowNode);
        in.executeUpdate();
    }

    /** Once an hour, deletes the minutes older than {@link #THROUGHPUT_KEPT}, in the running transaction. */
    private void pruneLocked() throws SQLException {
        long now = clock.millis();
        if (now < nextPrune) {
            return;
        }
        nextPrune = now + PRUNE_EVERY_MILLIS;
        PreparedStatement ps = statement("DELETE FROM throughput_minutes WHERE minute_millis < ?");
        ps.setLong(1, now - THROUGHPUT_KEPT.toMillis());
        ps.executeUpdate();
        // Failures older than any ban window (a day at most in practice) and bans that ended.
        PreparedStatement logins = statement("DELETE FROM login_failures WHERE banned_until_millis < ? AND first_millis < ?");
        logins.setLong(1, now);
        logins.setLong(2, now - PRUNE_EVERY_MILLIS * 24);
        logins.executeUpdate();
    }

    @Override
    public List<ThroughputMinute> throughput(Instant since, Instant until) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT minute_millis, protocol, direction, user_name, SUM(bytes),"
                        + " SUM(files), SUM(failed) FROM throughput_minutes WHERE minute_millis >= ? AND minute_millis < ?"
                        + " GROUP BY minute_millis, protocol, direction, user_name"
                        + " ORDER BY minute_millis, protocol, direction, user_name");
                ps.setLong(1, since == null ? Long.MIN_VALUE : since.toEpochMilli());
                ps.setLong(2, until == null ? Long.MAX_VALUE : until.toEpochMilli());
                List<ThroughputMinute> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new ThroughputMinute(Instant.ofEpochMilli(rs.getLong(1)), Protocol.of(rs.getString(2)),
                                Direction.valueOf(rs.getString(3)), rs.getString(4), rs.getLong(5), rs.getLong(6),
                                rs.getLong(7)));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the throughput: " + e.getMessage(), e);
        }
    }

    /**
     * Queues a write that holds the writer, in an open transaction that has written, from
     * when it counts {@code entered} down until {@code release} is counted down; for tests
     * that queries do not wait for commits.
     */
    void holdWriter(java.util.concurrent.CountDownLatch entered, java.util.concurrent.CountDownLatch release)
            throws IOException {
        post("ledger held", () -> {
            try (Statement st = db.createStatement()) {
                st.executeUpdate("UPDATE ledger_info SET val = val WHERE name = 'since'");
            }
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /**
     * Holds a read connection inside a read transaction, one row into a scan of the
     * transfers, when it counts {@code entered} down until {@code release} is counted
     * down; for tests that commits do not wait for queries. Runs on the caller's thread.
     */
    void holdReader(java.util.concurrent.CountDownLatch entered, java.util.concurrent.CountDownLatch release)
            throws SQLException {
        read(r -> {
            r.connection.setAutoCommit(false);
            try (Statement st = r.connection.createStatement();
                    java.sql.ResultSet rows = st.executeQuery("SELECT id FROM transfers")) {
                rows.next();
                entered.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                r.connection.rollback();
                r.connection.setAutoCommit(true);
            }
            return null;
        });
    }

    @Override
    public void changed(StoredChange change) throws IOException {
        write("ledger cannot record a stored change", () -> applyLocked(change));
    }

    /** Waits for the commit: the upload sends no part before its record is durable. */
    @Override
    public void uploadOpened(String transferId, BackendUpload upload) throws IOException {
        write("ledger cannot record the multipart upload of " + transferId, () -> {
            PreparedStatement ps = statement(
                    "INSERT INTO transfer_uploads (backend, upload_id, transfer_id, object_key) VALUES (?, ?, ?, ?)");
            ps.setString(1, upload.backend());
            ps.setString(2, upload.uploadId());
            ps.setString(3, transferId);
            ps.setString(4, upload.key());
            ps.executeUpdate();
        });
    }

    /**
     * Queued without waiting: a record that a crash keeps only makes the next start-up
     * abort an upload that is already gone, which the backend answers as such.
     */
    @Override
    public void uploadClosed(BackendUpload upload) {
        try {
            post("ledger cannot forget the multipart upload " + upload.uploadId(), () -> {
                PreparedStatement ps = statement("DELETE FROM transfer_uploads WHERE backend = ? AND upload_id = ?");
                ps.setString(1, upload.backend());
                ps.setString(2, upload.uploadId());
                ps.executeUpdate();
            });
        } catch (IOException e) {
            log.debug("{}", e.getMessage());
        }
    }

    @Override
    public synchronized List<BackendUpload> abandonedUploads() throws IOException {
        String sql = "SELECT u.backend, u.object_key, u.upload_id FROM transfer_uploads u"
                + " JOIN transfers t ON t.id = u.transfer_id WHERE t.outcome <> 'active' AND " + own("t")
                + " ORDER BY u.backend, u.object_key";
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            if (!exclusive) {
                ps.setString(1, node);
            }
            List<BackendUpload> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new BackendUpload(rs.getString(1), rs.getString(2), rs.getString(3)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Inserts or renews this node's row; on an embedded ledger, held by one gateway at a
     * time, the rows of other names (an earlier host name) go: the list is this node.
     */
    @Override
    public void register(String serves, String version, java.time.Duration lease) throws IOException {
        long now = clock.millis();
        write("ledger cannot register node " + node, () -> {
            if (exclusive) {
                PreparedStatement del = statement("DELETE FROM nodes WHERE node_id <> ?");
                del.setString(1, node);
                del.executeUpdate();
            }
            PreparedStatement up = statement("UPDATE nodes SET started_millis = ?, heartbeat_millis = ?, beats = 0,"
                    + " lease_millis = ?, serves = ?, version = ?, dead_millis = NULL WHERE node_id = ?");
            up.setLong(1, now);
            up.setLong(2, now);
            up.setLong(3, lease.toMillis());
            up.setString(4, clip(serves, 1024));
            up.setString(5, clip(version, 64));
            up.setString(6, node);
            if (up.executeUpdate() == 1) {
                return;
            }
            PreparedStatement in = statement("INSERT INTO nodes (node_id, started_millis, heartbeat_millis, beats,"
                    + " lease_millis, serves, version) VALUES (?, ?, ?, 0, ?, ?, ?)");
            in.setString(1, node);
            in.setLong(2, now);
            in.setLong(3, now);
            in.setLong(4, lease.toMillis());
            in.setString(5, clip(serves, 1024));
            in.setString(6, clip(version, 64));
            in.executeUpdate();
        });
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }

    /** Waits for the commit: a heartbeat that is not durable does not keep the node alive. */
    @Override
    public boolean heartbeat() throws IOException {
        long now = clock.millis();
        boolean[] alive = {true};
        write("ledger cannot record the heartbeat of node " + node, () -> {
            PreparedStatement ps = statement("UPDATE nodes SET heartbeat_millis = ?, beats = beats + 1 WHERE node_id = ?");
            ps.setLong(1, now);
            ps.setString(2, node);
            ps.executeUpdate();
            PreparedStatement dead = statement("SELECT dead_millis FROM nodes WHERE node_id = ?");
            dead.setString(1, node);
            try (ResultSet rs = dead.executeQuery()) {
                alive[0] = !rs.next() || rs.getObject(1) == null;
            }
        });
        return alive[0];
    }

    @Override
    public DeadNode failDead(String dead, long beats) throws IOException {
        if (dead.equals(node)) {
            throw new IllegalArgumentException("a node cannot count itself dead");
        }
        int[] failed = {-1};
        write("ledger cannot fail the transfers of node " + dead, () -> {
            failed[0] = -1;
            long now = clock.millis();
            // The claim: under PostgreSQL's row lock a second claimant finds dead_millis set.
            PreparedStatement claim = statement("UPDATE nodes SET dead_millis = ? WHERE node_id = ? AND beats = ?"
                    + " AND dead_millis IS NULL");
            claim.setLong(1, now);
            claim.setString(2, dead);
            claim.setLong(3, beats);
            if (claim.executeUpdate() != 1) {
                return;
            }
            PreparedStatement sums = statement("SELECT protocol, direction, user_name, SUM(bytes), COUNT(*)"
                    + " FROM transfers WHERE outcome = 'active' AND node = ? GROUP BY protocol, direction, user_name");
            sums.setString(1, dead);
            List<ThroughputMinute> minutes = new ArrayList<>();
            try (ResultSet rs = sums.executeQuery()) {
                while (rs.next()) {
                    minutes.add(new ThroughputMinute(ThroughputMinute.minuteOf(Instant.ofEpochMilli(now)),
                            Protocol.of(rs.getString(1)), Direction.valueOf(rs.getString(2)), rs.getString(3),
                            rs.getLong(4), 0, rs.getLong(5)));
                }
            }
            for (ThroughputMinute m : minutes) {
                addMinuteLocked(m);
                addNodeTransferredLocked(dead, m); // the dead node's: the others add its growth
            }
            PreparedStatement fail = statement(
                    "UPDATE transfers SET outcome = 'failed', ended_at = ? WHERE outcome = 'active' AND node = ?");
            fail.setLong(1, now);
            fail.setString(2, dead);
            failed[0] = fail.executeUpdate();
            // What it held of quotas and sessions is free again on every node.
            dropLimitsLocked(dead);
        });
        if (failed[0] < 0) {
            return null;
        }
        if (failed[0] > 0) {
            log.warn("ledger: node {} stopped heartbeating; {} of its transfers recorded as failed", dead, failed[0]);
        }
        return new DeadNode(dead, failed[0], uploadsOf(dead));
    }

    /** The uploads recorded for {@code owner}'s ended transfers and never forgotten. */
    private List<BackendUpload> uploadsOf(String owner) throws IOException {
        String sql = "SELECT u.backend, u.object_key, u.upload_id FROM transfer_uploads u"
                + " JOIN transfers t ON t.id = u.transfer_id WHERE t.outcome <> 'active' AND t.node = ?"
                + " ORDER BY u.backend, u.object_key";
        try {
            return read(r -> {
                PreparedStatement ps = r.statement(sql);
                ps.setString(1, owner);
                List<BackendUpload> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new BackendUpload(rs.getString(1), rs.getString(2), rs.getString(3)));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    @Override
    public void deregister() {
        try {
            write("ledger cannot deregister node " + node, () -> {
                PreparedStatement ps = statement("DELETE FROM nodes WHERE node_id = ?");
                ps.setString(1, node);
                ps.executeUpdate();
                dropLimitsLocked(node);
            });
        } catch (IOException e) {
            log.warn("{}", e.getMessage());
        }
    }

    @Override
    public List<NodeRecord> nodes() throws IOException {
        String sql = "SELECT node_id, started_millis, heartbeat_millis, beats, lease_millis, serves, version, dead_millis"
                + " FROM nodes ORDER BY node_id";
        try {
            return read(r -> {
                List<NodeRecord> out = new ArrayList<>();
                try (ResultSet rs = r.statement(sql).executeQuery()) {
                    while (rs.next()) {
                        long dead = rs.getLong(8);
                        Instant deadAt = rs.wasNull() ? null : Instant.ofEpochMilli(dead);
                        out.add(new NodeRecord(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)),
                                Instant.ofEpochMilli(rs.getLong(3)), rs.getLong(4), java.time.Duration.ofMillis(rs.getLong(5)),
                                rs.getString(6), rs.getString(7), deadAt));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /** Not for an embedded ledger held by one gateway at a time. */
    @Override
    public boolean shared() {
        return !exclusive;
    }

    @Override
    public Others others() throws IOException {
        if (!shared()) {
            return Others.NONE;
        }
        try {
            return read(r -> {
                Connection c = r.connection;
                c.setAutoCommit(false);
                if (postgres) {
                    c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                }
                try {
                    Others o = othersOn(r);
                    c.commit();
                    return o;
                } finally {
                    try {
                        c.rollback();
                        if (postgres) {
                            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                        }
                    } finally {
                        c.setAutoCommit(true);
                    }
                }
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /** The others' additions and active transfers; in the caller's transaction, for one snapshot. */
    private Others othersOn(ReadConnections.Reader r) throws SQLException {
        Map<Protocol, Map<String, Counters>> transferred = new HashMap<>();
        PreparedStatement t = r.statement("SELECT protocol, direction, user_name, SUM(bytes), SUM(files), SUM(failed)"
                + " FROM node_transferred WHERE node <> ? GROUP BY protocol, direction, user_name");
        t.setString(1, node);
        try (ResultSet rs = t.executeQuery()) {
            while (rs.next()) {
                Direction d = Direction.valueOf(rs.getString(2));
                Counters c = Counters.of(d, true, rs.getLong(4), rs.getLong(5)).plus(Counters.of(d, false, 0, rs.getLong(6)));
                transferred.computeIfAbsent(Protocol.of(rs.getString(1)), k -> new HashMap<>()).merge(rs.getString(3), c,
                        Counters::plus);
            }
        }
        Map<String, Map<String, StoredTotals>> stored = new HashMap<>();
        Map<String, Map<String, StoredTotals>> copies = new HashMap<>();
        PreparedStatement st = r.statement("SELECT kind, backend, user_name, SUM(bytes), SUM(objects) FROM node_stored"
                + " WHERE node <> ? GROUP BY kind, backend, user_name");
        st.setString(1, node);
        try (ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                (rs.getString(1).equals("copies") ? copies : stored).computeIfAbsent(rs.getString(2), k -> new HashMap<>())
                        .put(rs.getString(3), new StoredTotals(rs.getLong(4), rs.getLong(5)));
            }
        }
        List<Statistics.Active> active = new ArrayList<>();
        PreparedStatement a = r.statement("SELECT id, user_name, protocol, direction, path, bytes, started_at, node"
                + " FROM transfers WHERE outcome = 'active' AND node <> ? ORDER BY started_at, id");
        a.setString(1, node);
        try (ResultSet rs = a.executeQuery()) {
            while (rs.next()) {
                active.add(new Statistics.Active(rs.getString(1), rs.getString(2), Protocol.of(rs.getString(3)).id(),
                        Direction.valueOf(rs.getString(4)).id(), rs.getString(5), rs.getLong(6), -1,
                        Instant.ofEpochMilli(rs.getLong(7)), rs.getString(8)));
            }
        }
        return new Others(transferred, stored, copies, active);
    }

    /** Prepares (or finds prepared) the statements of one connection. */
    private interface Statements {
        PreparedStatement of(String sql) throws SQLException;
    }

    /** Work of one limit transaction, on the statements of its connection. */
    private interface LimitWork {
        void run(Statements st) throws SQLException;
    }

    /**
     * Runs {@code work} in a transaction of its own that first takes the lock ordering the
     * limits of {@code kind} and {@code name} across nodes, and waits for its commit. On
     * PostgreSQL: a transaction advisory lock, on a query connection, apart from the
     * writer's batches, so that a transaction holds one such lock only (two could wait for
     * each other) and only for its few statements. Elsewhere the writer runs it: its first
     * write takes the database's write lock, which SQLite holds to the commit.
     */
    private void limitTransaction(String failure, String kind, String name, LimitWork work) throws IOException {
        if (!postgres) {
            write(failure, () -> work.run(this::statement));
            return;
        }
        try {
            read(r -> {
                Connection c = r.connection;
                c.setAutoCommit(false);
                try {
                    PreparedStatement lock = r.statement("SELECT pg_advisory_xact_lock(?)");
                    lock.setLong(1, CommitLocks.hash("\0" + kind, name));
                    lock.execute();
                    work.run(r::statement);
                    c.commit();
                    return null;
                } finally {
                    try {
                        c.rollback(); // nothing after a commit; after a failure, ends the transaction and its lock
                    } finally {
                        c.setAutoCommit(true);
                    }
                }
            });
        } catch (SQLException e) {
            throw new IOException(failure + ": " + e.getMessage(), e);
        }
    }

    @Override
    public long reserve(String id, String user, boolean open, long minBytes, long wantBytes, long files,
                        long quotaBytes, long quotaFiles) throws IOException {
        long[] granted = {NO_ROOM_BYTES};
        limitTransaction("ledger cannot reserve quota of " + user, "quota", user, st -> {
            granted[0] = NO_ROOM_BYTES;
            if (open) {
                PreparedStatement in = st.of("INSERT INTO quota_reservations (id, node, user_name, bytes, files)"
                        + " VALUES (?, ?, ?, 0, 0)");
                in.setString(1, id);
                in.setString(2, node);
                in.setString(3, user);
                in.executeUpdate();
            } else {
                PreparedStatement touch = st.of("UPDATE quota_reservations SET bytes = bytes WHERE id = ?");
                touch.setString(1, id);
                if (touch.executeUpdate() != 1) {
                    return; // counted dead meanwhile: what it held is free again
                }
            }
            long[] stored = sums(st, "SELECT SUM(bytes), SUM(objects) FROM stored_totals WHERE user_name = ?", user);
            long[] held = sums(st, "SELECT SUM(bytes), SUM(files) FROM quota_reservations WHERE user_name = ?", user);
            long grant = wantBytes;
            if (quotaBytes > 0) {
                grant = Math.min(wantBytes, Math.max(0, quotaBytes - stored[0] - held[0]));
            }
            if (grant < minBytes) {
                granted[0] = NO_ROOM_BYTES;
            } else if (quotaFiles > 0 && files > 0 && stored[1] + held[1] + files > quotaFiles) {
                granted[0] = NO_ROOM_FILES;
            } else {
                PreparedStatement up = st.of("UPDATE quota_reservations SET bytes = bytes + ?, files = files + ? WHERE id = ?");
                up.setLong(1, grant);
                up.setLong(2, files);
                up.setString(3, id);
                up.executeUpdate();
                granted[0] = grant;
                return;
            }
            if (open) {
                delete(st, "quota_reservations", id);
            }
        });
        return granted[0];
    }

    /** Two sums of one row of {@code sql}, null as 0. */
    private static long[] sums(Statements st, String sql, String arg) throws SQLException {
        PreparedStatement ps = st.of(sql);
        ps.setString(1, arg);
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : new long[2];
        }
    }

    private static void delete(Statements st, String table, String id) throws SQLException {
        PreparedStatement ps = st.of("DELETE FROM " + table + " WHERE id = ?");
        ps.setString(1, id);
        ps.executeUpdate();
    }

    @Override
    public void release(String id) {
        try {
            post("ledger cannot release quota reservation " + id, () -> delete(this::statement, "quota_reservations", id));
        } catch (IOException e) {
            log.warn("{}", e.getMessage());
        }
    }

    @Override
    public boolean openSession(String id, String user, String protocol, int limit) throws IOException {
        boolean[] opened = {false};
        limitTransaction("ledger cannot open a session of " + user, "sessions", user, st -> {
            PreparedStatement in = st.of("INSERT INTO user_sessions (id, node, user_name, protocol, started_millis)"
                    + " VALUES (?, ?, ?, ?, ?)");
            in.setString(1, id);
            in.setString(2, node);
            in.setString(3, user);
            in.setString(4, protocol);
            in.setLong(5, clock.millis());
            in.executeUpdate();
            PreparedStatement count = st.of("SELECT COUNT(*) FROM user_sessions WHERE user_name = ?");
            count.setString(1, user);
            try (ResultSet rs = count.executeQuery()) {
                opened[0] = rs.next() && rs.getLong(1) <= limit;
            }
            if (!opened[0]) {
                delete(st, "user_sessions", id);
            }
        });
        return opened[0];
    }

    @Override
    public void closeSession(String id) {
        try {
            post("ledger cannot close session " + id, () -> delete(this::statement, "user_sessions", id));
        } catch (IOException e) {
            log.warn("{}", e.getMessage());
        }
    }

    @Override
    public void loginFailed(String address, int maxFailures, java.time.Duration window, java.time.Duration ban) {
        try {
            post("ledger cannot count a failed login from " + address, () -> {
                long now = clock.millis();
                if (postgres) {
                    // The row's lock then orders the counts of every node: two first failures cannot both insert.
                    PreparedStatement first = statement("INSERT INTO login_failures (address, failures, first_millis,"
                            + " banned_until_millis) VALUES (?, 0, ?, 0) ON CONFLICT (address) DO NOTHING");
                    first.setString(1, address);
                    first.setLong(2, now);
                    first.executeUpdate();
                }
                // A window that has passed starts again at this failure.
                PreparedStatement up = statement("UPDATE login_failures SET"
                        + " failures = CASE WHEN first_millis < ? THEN 1 ELSE failures + 1 END,"
                        + " first_millis = CASE WHEN first_millis < ? THEN ? ELSE first_millis END WHERE address = ?");
                up.setLong(1, now - window.toMillis());
                up.setLong(2, now - window.toMillis());
                up.setLong(3, now);
                up.setString(4, address);
                if (up.executeUpdate() == 0) {
                    PreparedStatement in = statement("INSERT INTO login_failures (address, failures, first_millis,"
                            + " banned_until_millis) VALUES (?, 1, ?, 0)");
                    in.setString(1, address);
                    in.setLong(2, now);
                    in.executeUpdate();
                }
                long[] failures = sums(this::statement, "SELECT failures, 0 FROM login_failures WHERE address = ?", address);
                if (failures[0] >= maxFailures) {
                    PreparedStatement banned = statement("UPDATE login_failures SET failures = 0, first_millis = 0,"
                            + " banned_until_millis = ? WHERE address = ?");
                    banned.setLong(1, now + ban.toMillis());
                    banned.setString(2, address);
                    banned.executeUpdate();
                    log.warn("{} banned for {} on every node after {} failed logins", address, ban, maxFailures);
                }
            });
        } catch (IOException e) {
            log.warn("{}", e.getMessage());
        }
    }

    @Override
    public void loginSucceeded(String address) {
        try {
            post("ledger cannot forget the failed logins of " + address, () -> {
                PreparedStatement ps = statement("UPDATE login_failures SET failures = 0, first_millis = 0 WHERE address = ?");
                ps.setString(1, address);
                ps.executeUpdate();
            });
        } catch (IOException e) {
            log.warn("{}", e.getMessage());
        }
    }

    @Override
    public Map<String, Instant> bans() throws IOException {
        long now = clock.millis();
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT address, banned_until_millis FROM login_failures"
                        + " WHERE banned_until_millis > ?");
                ps.setLong(1, now);
                Map<String, Instant> out = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /** Removes the reservations and sessions of {@code owner}, in the running transaction. */
    private void dropLimitsLocked(String owner) throws SQLException {
        for (String table : List.of("quota_reservations", "user_sessions")) {
            PreparedStatement ps = statement("DELETE FROM " + table + " WHERE node = ?");
            ps.setString(1, owner);
            ps.executeUpdate();
        }
    }

    /** Queues {@code w} for the writer without waiting; a refusal is logged. */
    private void post(String failure, Write w) throws IOException {
        Pending p = new Pending(w, failure, new CompletableFuture<>());
        synchronized (queue) {
            if (closed) {
                throw new IOException(failure + ": the ledger is closed");
            }
            queue.add(p);
            unfinished++;
        }
        p.done().whenComplete((ok, e) -> {
            if (e != null) {
                log.error("{}", e.getMessage());
            }
        });
    }

    /** Queues {@code w} and returns once it is committed; throws when it was refused. */
    private void write(String failure, Write w) throws IOException {
        Pending p = new Pending(w, failure, new CompletableFuture<>());
        boolean alone;
        synchronized (queue) {
            if (closed) {
                throw new IOException(failure + ": the ledger is closed");
            }
            alone = unfinished == 0 && committing.tryLock();
            if (!alone) {
                queue.add(p);
                unfinished++;
            }
        }
        if (alone) {
            try {
                runBatch(List.of(p));
            } catch (RuntimeException | Error e) {
                p.done().completeExceptionally(e);
            } finally {
                committing.unlock();
            }
        }
        try {
            p.done().join(); // not interruptible: a write that was queued is waited for
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(failure + ": " + cause.getMessage(), cause);
        }
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue; // only the stop mark ends the writer
            }
            queue.drainTo(batch, MAX_BATCH - 1);
            boolean last = batch.get(batch.size() - 1) == stop;
            List<Pending> writes = last ? batch.subList(0, batch.size() - 1) : batch;
            committing.lock();
            try {
                runBatch(writes);
            } catch (RuntimeException | Error e) {
                writes.forEach(p -> p.done().completeExceptionally(e)); // nobody waits forever
            } finally {
                committing.unlock();
                synchronized (queue) {
                    unfinished -= writes.size();
                }
            }
            if (last) {
                stop.done().complete(null);
                return;
            }
            batch.clear();
        }
    }

    /** How often a write (or the batch's counter sums) is run again after a conflict with another node. */
    private static final int CONFLICT_ATTEMPTS = 5;

    /**
     * Whether PostgreSQL refused a statement only because of another transaction: a
     * deadlock it broke by choosing this one (40P01), or a serialization failure (40001).
     * Rolled back to its savepoint, the statement then waits its turn: the other
     * transaction has gone on.
     */
    private static boolean conflict(Exception e) {
        return e instanceof SQLException q && ("40P01".equals(q.getSQLState()) || "40001".equals(q.getSQLState()));
    }

    /**
     * Runs the writes in one transaction, each behind a savepoint, and tells each caller.
     * A write that conflicted with another node's transaction runs again behind its
     * savepoint (its captured results are set anew each run); the others are not repeated.
     */
    private synchronized void runBatch(List<Pending> batch) {
        if (batch.isEmpty()) {
            return;
        }
        Throwable[] refused = new Throwable[batch.size()];
        try {
            db.setAutoCommit(false);
            sums = new BatchSums();
            for (int i = 0; i < batch.size(); i++) {
                Savepoint sp = savepoint();
                for (int attempt = 1; ; attempt++) {
                    try {
                        batch.get(i).write().run();
                        sums.keep();
                        break;
                    } catch (SQLException | IOException | RuntimeException e) {
                        rollbackTo(sp);
                        sums.drop();
                        if (attempt < CONFLICT_ATTEMPTS && conflict(e)) {
                            continue;
                        }
                        refused[i] = e instanceof SQLException ? new IOException(batch.get(i).failure() + ": " + e.getMessage(), e) : e;
                        break;
                    }
                }
            }
            BatchSums summed = sums;
            sums = null;
            Savepoint sp = savepoint();
            for (int attempt = 1; ; attempt++) {
                try {
                    summed.flush(this::addSumLocked);
                    break;
                } catch (SQLException e) {
                    if (attempt >= CONFLICT_ATTEMPTS || !conflict(e)) {
                        throw e;
                    }
                    rollbackTo(sp);
                }
            }
            db.commit();
            broken = null;
        } catch (SQLException e) {
            rollbackQuietly();
            IOException failed = new IOException("ledger commit failed: " + e.getMessage(), e);
            broken = failed;
            Arrays.fill(refused, failed);
        } finally {
            sums = null;
            autoCommitQuietly();
        }
        for (int i = 0; i < batch.size(); i++) {
            if (refused[i] == null) {
                batch.get(i).done().complete(null);
            } else {
                batch.get(i).done().completeExceptionally(refused[i]);
            }
        }
    }

    /**
     * A savepoint in the running batch. SQLite's driver parses a new {@code SAVEPOINT}
     * statement for each of its savepoints (a formatted name, then an unprepared execution),
     * two or more per committed transfer; on SQLite the batch instead repeats one prepared
     * {@code SAVEPOINT w}, whose {@code ROLLBACK TO w} returns to the newest of that name,
     * the write being run, as the savepoints of a batch are never released before its commit.
     * Null on SQLite; the JDBC savepoint elsewhere.
     */
    private Savepoint savepoint() throws SQLException {
        if (!sqlite) {
            return db.setSavepoint();
        }
        statement("SAVEPOINT w").execute();
        return null;
    }

    /** Undoes the running batch back to {@code sp}, from {@link #savepoint()}. */
    private void rollbackTo(Savepoint sp) throws SQLException {
        if (sp != null) {
            db.rollback(sp);
        } else {
            statement("ROLLBACK TO w").execute();
        }
    }

    /**
     * The statement for {@code sql}, prepared once and kept with the connection (guarded by
     * {@code this}): preparing (parsing) each write's SQL again cost SQLite a third of a commit.
     */
    private PreparedStatement statement(String sql) throws SQLException {
        PreparedStatement ps = statements.get(sql);
        if (ps == null) {
            ps = db.prepareStatement(sql);
            statements.put(sql, ps);
        }
        return ps;
    }

    /**
     * Applies a stored change in the running transaction: the totals of its backend or
     * pool and user (a change that only moves copies leaves them as they are, but present),
     * then the copies that leave the placements and those that join them.
     */
    private void applyLocked(StoredChange c) throws SQLException {
        if (c == null || c.isEmpty()) {
            return;
        }
        digestLocked(c);
        if (c.onlyDigest()) {
            return;
        }
        addTotalsLocked(c);
        addNodeStoredLocked(c);
        placeLocked(c);
        queueLocked(c);
    }

    /** Applies what the change does to the digests kept ({@link DigestChange}), in the running transaction. */
    private void digestLocked(StoredChange c) throws SQLException {
        DigestChange d = c.digest();
        if (d instanceof DigestChange.Stored st) {
            forgetDigestLocked(c.backend(), st.key());
            if (st.sha256() != null) {
                insertDigestLocked(c.backend(), st.key(), st.size(), st.sha256(), clock.millis());
            }
        } else if (d instanceof DigestChange.Removed r) {
            forgetDigestLocked(c.backend(), r.key());
        } else if (d instanceof DigestChange.Moved m && !m.from().equals(m.to())) {
            if (!m.folder()) {
                forgetDigestLocked(c.backend(), m.to());
                PreparedStatement up = statement("UPDATE object_digests SET object_key = ? WHERE backend = ? AND object_key = ?");
                up.setString(1, m.to());
                up.setString(2, c.backend());
                up.setString(3, m.from());
                up.executeUpdate();
                return;
            }
            // Every digest under the folder takes its new key: read, delete the range, insert anew.
            String prefix = m.from() + "/";
            String end = prefixEnd(prefix, utf16Order);
            PreparedStatement sel = statement("SELECT object_key, size, sha256, recorded_millis FROM object_digests"
                    + " WHERE backend = ? AND object_key >= ? AND object_key < ?");
            sel.setString(1, c.backend());
            sel.setString(2, prefix);
            sel.setString(3, end);
            List<ObjectDigest> moved = new ArrayList<>();
            try (ResultSet rs = sel.executeQuery()) {
                while (rs.next()) {
                    moved.add(new ObjectDigest(c.backend(), m.to() + rs.getString(1).substring(m.from().length()),
                            rs.getLong(2), rs.getString(3), Instant.ofEpochMilli(rs.getLong(4))));
                }
            }
            PreparedStatement del = statement("DELETE FROM object_digests WHERE backend = ? AND object_key >= ? AND object_key < ?");
            del.setString(1, c.backend());
            del.setString(2, prefix);
            del.setString(3, end);
            del.executeUpdate();
            for (ObjectDigest o : moved) {
                forgetDigestLocked(c.backend(), o.key());
                insertDigestLocked(c.backend(), o.key(), o.size(), o.sha256(), o.recorded().toEpochMilli());
            }
        }
    }

    private void forgetDigestLocked(String backend, String key) throws SQLException {
        PreparedStatement del = statement("DELETE FROM object_digests WHERE backend = ? AND object_key = ?");
        del.setString(1, backend);
        del.setString(2, key);
        del.executeUpdate();
    }

    private void insertDigestLocked(String backend, String key, long size, String sha256, long millis) throws SQLException {
        PreparedStatement in = statement("INSERT INTO object_digests (backend, object_key, size, sha256, recorded_millis)"
                + " VALUES (?, ?, ?, ?, ?)");
        in.setString(1, backend);
        in.setString(2, key);
        in.setLong(3, size);
        in.setString(4, sha256);
        in.setLong(5, millis);
        in.executeUpdate();
    }

    private static final String RESUMABLE_COLUMNS = "id, node, user_name, path, total_length, upload_offset, metadata,"
            + " created_millis, expires_millis, finished_millis, staged, digest_state";

    @Override
    public void createUpload(ResumableUpload u) throws IOException {
        write("ledger cannot record the resumable upload " + u.id(), () -> {
            PreparedStatement ps = statement("INSERT INTO resumable_uploads (" + RESUMABLE_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            ps.setString(1, u.id());
            ps.setString(2, u.node());
            ps.setString(3, u.user());
            ps.setString(4, u.path());
            ps.setLong(5, u.length());
            ps.setLong(6, u.offset());
            ps.setString(7, u.metadata());
            ps.setLong(8, u.created().toEpochMilli());
            ps.setLong(9, u.expires().toEpochMilli());
            if (u.finished() == null) {
                ps.setNull(10, java.sql.Types.BIGINT);
            } else {
                ps.setLong(10, u.finished().toEpochMilli());
            }
            ps.setString(11, u.staged());
            ps.setString(12, u.digestState());
            ps.executeUpdate();
        });
    }

    @Override
    public ResumableUpload upload(String id) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT " + RESUMABLE_COLUMNS + " FROM resumable_uploads WHERE id = ?");
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? resumable(rs) : null;
                }
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the resumable upload " + id + ": " + e.getMessage(), e);
        }
    }

    private static ResumableUpload resumable(ResultSet rs) throws SQLException {
        return new ResumableUpload(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                rs.getLong(6), rs.getString(7), Instant.ofEpochMilli(rs.getLong(8)), Instant.ofEpochMilli(rs.getLong(9)),
                rs.getObject(10) == null ? null : Instant.ofEpochMilli(rs.getLong(10)), rs.getString(11), rs.getString(12));
    }

    @Override
    public boolean advanceUpload(String id, long from, long to) throws IOException {
        boolean[] moved = {false};
        write("ledger cannot record the offset of the resumable upload " + id, () -> {
            PreparedStatement ps = statement("UPDATE resumable_uploads SET upload_offset = ? WHERE id = ? AND upload_offset = ?"
                    + " AND finished_millis IS NULL");
            ps.setLong(1, to);
            ps.setString(2, id);
            ps.setLong(3, from);
            moved[0] = ps.executeUpdate() == 1;
        });
        return moved[0];
    }

    @Override
    public boolean advanceUpload(String id, long from, long to, String staged, String digestState) throws IOException {
        boolean[] moved = {false};
        write("ledger cannot record the offset of the resumable upload " + id, () -> {
            PreparedStatement ps = statement("UPDATE resumable_uploads SET upload_offset = ?, staged = ?, digest_state = ?"
                    + " WHERE id = ? AND upload_offset = ? AND finished_millis IS NULL");
            ps.setLong(1, to);
            ps.setString(2, staged);
            ps.setString(3, digestState);
            ps.setString(4, id);
            ps.setLong(5, from);
            moved[0] = ps.executeUpdate() == 1;
        });
        return moved[0];
    }

    @Override
    public boolean finishUpload(String id, Instant at) throws IOException {
        boolean[] marked = {false};
        write("ledger cannot record the end of the resumable upload " + id, () -> {
            PreparedStatement ps = statement("UPDATE resumable_uploads SET finished_millis = ? WHERE id = ?"
                    + " AND finished_millis IS NULL");
            ps.setLong(1, at.toEpochMilli());
            ps.setString(2, id);
            marked[0] = ps.executeUpdate() == 1;
        });
        return marked[0];
    }

    @Override
    public boolean removeUpload(String id) throws IOException {
        boolean[] removed = {false};
        write("ledger cannot remove the resumable upload " + id, () -> {
            PreparedStatement ps = statement("DELETE FROM resumable_uploads WHERE id = ?");
            ps.setString(1, id);
            removed[0] = ps.executeUpdate() == 1;
        });
        return removed[0];
    }

    @Override
    public List<ResumableUpload> expiredUploads(String owner, Instant now, int limit) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT " + RESUMABLE_COLUMNS + " FROM resumable_uploads"
                        + " WHERE (node = ? OR staged IS NOT NULL) AND expires_millis < ? ORDER BY expires_millis LIMIT ?");
                ps.setString(1, owner);
                ps.setLong(2, now.toEpochMilli());
                ps.setInt(3, limit);
                List<ResumableUpload> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(resumable(rs));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot list expired resumable uploads: " + e.getMessage(), e);
        }
    }

    @Override
    public ObjectDigest digest(String backend, String key) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT size, sha256, recorded_millis FROM object_digests"
                        + " WHERE backend = ? AND object_key = ?");
                ps.setString(1, backend);
                ps.setString(2, key);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? new ObjectDigest(backend, key, rs.getLong(1), rs.getString(2),
                            Instant.ofEpochMilli(rs.getLong(3))) : null;
                }
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the digest of " + key + " in " + backend + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<ObjectDigest> digests(String backend, String prefix, String after, int limit) throws IOException {
        String from = prefix == null ? "" : prefix;
        String end = prefixEnd(from, utf16Order);
        try {
            return read(r -> {
                boolean fromAfter = after != null && compareKeys(after, from) >= 0;
                PreparedStatement ps = r.statement("SELECT object_key, size, sha256, recorded_millis FROM object_digests"
                        + " WHERE backend = ? AND object_key " + (fromAfter ? ">" : ">=") + " ?"
                        + (end == null ? "" : " AND object_key < ?") + " ORDER BY backend, object_key LIMIT ?");
                int i = 1;
                ps.setString(i++, backend);
                ps.setString(i++, fromAfter ? after : from);
                if (end != null) {
                    ps.setString(i++, end);
                }
                ps.setInt(i, Math.max(0, limit));
                List<ObjectDigest> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new ObjectDigest(backend, rs.getString(1), rs.getLong(2), rs.getString(3),
                                Instant.ofEpochMilli(rs.getLong(4))));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot list the digests of " + backend + ": " + e.getMessage(), e);
        }
    }

    /** Adds a finished transfer's counts (as its minute holds them) to what {@code owner} added. */
    private void addNodeTransferredLocked(String owner, ThroughputMinute m) throws SQLException {
        if (sums != null) {
            sums.add(BatchSums.Counter.NODE_TRANSFERRED, List.of(owner, m.protocol().id(), m.direction().name(), m.user()),
                    m.bytes(), m.files(), m.failed());
            return;
        }
        upsertLocked("node_transferred", List.of("node", "protocol", "direction", "user_name"),
                List.of(owner, m.protocol().id(), m.direction().name(), m.user()),
                List.of("bytes", "files", "failed"), new long[] {m.bytes(), m.files(), m.failed()});
    }

    /** Adds a stored change to what this node added, shaped as TransferMeter counts it. */
    private void addNodeStoredLocked(StoredChange c) throws SQLException {
        if (c.bytes() != 0 || c.objects() != 0) {
            addNodeStoredLocked(List.of(node, "stored", c.backend(), c.user()), c.bytes(), c.objects());
        }
        for (Placement p : c.removed()) {
            addNodeStoredLocked(List.of(node, "copies", p.backend(), c.user()), -p.size(), -1);
        }
        for (Placement p : c.added()) {
            addNodeStoredLocked(List.of(node, "copies", p.backend(), c.user()), p.size(), 1);
        }
    }

    private void addNodeStoredLocked(List<String> key, long bytes, long objects) throws SQLException {
        if (sums != null) {
            sums.add(BatchSums.Counter.NODE_STORED, List.copyOf(key), bytes, objects);
            return;
        }
        upsertLocked("node_stored", List.of("node", "kind", "backend", "user_name"), key, List.of("bytes", "objects"),
                new long[] {bytes, objects});
    }

    /** Writes one counter row's sum for the batch, as the add method of its table would have. */
    @SuppressWarnings("unchecked")
    private void addSumLocked(BatchSums.Row row, long[] d) throws SQLException {
        List<Object> k = row.key();
        switch (row.counter()) {
            case MINUTE -> addMinuteLocked(new ThroughputMinute(Instant.ofEpochMilli((Long) k.get(0)), Protocol.of((String) k.get(1)),
                    Direction.valueOf((String) k.get(2)), (String) k.get(3), d[0], d[1], d[2]));
            case NODE_TRANSFERRED -> addNodeTransferredLocked((String) k.get(0), new ThroughputMinute(null,
                    Protocol.of((String) k.get(1)), Direction.valueOf((String) k.get(2)), (String) k.get(3), d[0], d[1], d[2]));
            case STORED -> addTotalsLocked((String) k.get(0), (String) k.get(1), d[0], d[1]);
            case NODE_STORED -> addNodeStoredLocked((List<String>) (List<?>) k, d[0], d[1]);
        }
    }

    /** Adds {@code deltas} to the row of {@code key}, inserting it when absent, in the running transaction. */
    private void upsertLocked(String table, List<String> keyCols, List<String> key, List<String> cols, long[] deltas)
            throws SQLException {
        // The statements' text once per table: building it again cost as much as running them.
        String[] sql = upserts.computeIfAbsent(table, t -> {
            String where = String.join(" = ? AND ", keyCols) + " = ?";
            String set = cols.stream().map(col -> col + " = " + col + " + ?").collect(java.util.stream.Collectors.joining(", "));
            List<String> all = new ArrayList<>(keyCols);
            all.addAll(cols);
            return new String[] {"UPDATE " + t + " SET " + set + " WHERE " + where,
                "INSERT INTO " + t + " (" + String.join(", ", all) + ") VALUES ("
                        + String.join(", ", java.util.Collections.nCopies(all.size(), "?")) + ")"};
        });
        // Only this node's writer adds to its rows (or a live node to a dead one's, once):
        // an update, else an insert, as on H2, needs no ON CONFLICT.
        PreparedStatement up = statement(sql[0]);
        int i = 1;
        for (long d : deltas) {
            up.setLong(i++, d);
        }
        for (String k : key) {
            up.setString(i++, k);
        }
        if (up.executeUpdate() == 1) {
            return;
        }
        PreparedStatement in = statement(sql[1]);
        i = 1;
        for (String k : key) {
            in.setString(i++, k);
        }
        for (long d : deltas) {
            in.setLong(i++, d);
        }
        in.executeUpdate();
    }


    /**
     * Ends or renames the pending copies of the keys whose copies the change removes
     * ({@link StoredChange#keyMoves()}), then queues its pending copies, due at once. A
     * renamed task is unclaimed: whoever was copying it from the old key finds its source gone.
     */
    private void queueLocked(StoredChange c) throws SQLException {
        List<StoredChange.KeyMove> moves = c.removed().isEmpty() ? List.of() : c.keyMoves();
        for (StoredChange.KeyMove m : moves) {
            if (m.to() == null) {
                PreparedStatement drop = statement("DELETE FROM replication_queue WHERE pool = ? AND object_key = ?");
                drop.setString(1, m.pool());
                drop.setString(2, m.key());
                drop.executeUpdate();
            } else {
                PreparedStatement move = statement("UPDATE replication_queue SET object_key = ?, claimed_by = NULL,"
                        + " claimed_until_millis = NULL WHERE pool = ? AND object_key = ?");
                move.setString(1, m.to());
                move.setString(2, m.pool());
                move.setString(3, m.key());
                move.executeUpdate();
            }
        }
        if (c.pending().isEmpty()) {
            return;
        }
        long now = clock.millis();
        PreparedStatement replace = statement("DELETE FROM replication_queue WHERE pool = ? AND object_key = ? AND target = ?");
        PreparedStatement insert = statement("INSERT INTO replication_queue (id, pool, object_key, target, source,"
                + " user_name, size, modified_millis, enqueued_millis, attempts, next_attempt_millis)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)");
        for (PendingCopy p : c.pending()) {
            Placement s = p.source();
            replace.setString(1, s.pool());
            replace.setString(2, s.key());
            replace.setString(3, p.target());
            replace.executeUpdate();
            insert.setString(1, java.util.UUID.randomUUID().toString());
            insert.setString(2, s.pool());
            insert.setString(3, s.key());
            insert.setString(4, p.target());
            insert.setString(5, s.backend());
            insert.setString(6, c.user());
            insert.setLong(7, s.size());
            insert.setLong(8, s.modified().toEpochMilli());
            insert.setLong(9, now);
            insert.setLong(10, now);
            insert.executeUpdate();
        }
    }

    // ---- the replication queue (CopyQueue)

    private static final String TASK_COLUMNS = "id, pool, object_key, target, source, user_name, size, modified_millis,"
            + " enqueued_millis, attempts";

    private static CopyTask task(ResultSet rs) throws SQLException {
        Placement source = new Placement(rs.getString(2), rs.getString(3), rs.getString(5), rs.getLong(7),
                Instant.ofEpochMilli(rs.getLong(8)));
        return new CopyTask(rs.getString(1), source, rs.getString(4), rs.getString(6), Instant.ofEpochMilli(rs.getLong(9)),
                rs.getInt(10));
    }

    /**
     * Reads the due tasks, then claims each with a conditional update that repeats the
     * conditions: on PostgreSQL a concurrent claim of the same row makes the second update
     * wait and then find the row claimed, so it updates nothing and the task is not this
     * node's. The reads run on the ledger's connection between commits; the claims go
     * through the writer, as every write.
     */
    @Override
    public List<CopyTask> claimCopies(Instant now, java.time.Duration lease, int limit) throws IOException {
        List<CopyTask> due = new ArrayList<>();
        synchronized (this) {
            try {
                PreparedStatement ps = statement("SELECT " + TASK_COLUMNS + " FROM replication_queue"
                        + " WHERE next_attempt_millis <= ? AND (claimed_until_millis IS NULL OR claimed_until_millis < ?)"
                        + " ORDER BY next_attempt_millis LIMIT ?");
                ps.setLong(1, now.toEpochMilli());
                ps.setLong(2, now.toEpochMilli());
                ps.setInt(3, Math.max(0, limit));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        due.add(task(rs));
                    }
                }
            } catch (SQLException e) {
                throw new IOException("ledger cannot read the replication queue: " + e.getMessage(), e);
            }
        }
        if (due.isEmpty()) {
            return due;
        }
        List<CopyTask> claimed = new ArrayList<>();
        write("ledger cannot claim copies to make", () -> {
            claimed.clear();
            List<CopyTask> free = due;
            if (postgres) {
                // Rows another gateway's transaction holds are passed over, never waited for:
                // two gateways claiming (or a claim beside other writes of one batch) in
                // different orders would otherwise deadlock.
                free = new ArrayList<>();
                PreparedStatement lock = statement("SELECT id FROM replication_queue WHERE id = ? FOR UPDATE SKIP LOCKED");
                for (CopyTask t : due) {
                    lock.setString(1, t.id());
                    try (ResultSet rs = lock.executeQuery()) {
                        if (rs.next()) {
                            free.add(t);
                        }
                    }
                }
            }
            PreparedStatement ps = statement("UPDATE replication_queue SET claimed_by = ?, claimed_until_millis = ?"
                    + " WHERE id = ? AND object_key = ? AND next_attempt_millis <= ?"
                    + " AND (claimed_until_millis IS NULL OR claimed_until_millis < ?)");
            for (CopyTask t : free) {
                ps.setString(1, node);
                ps.setLong(2, now.plus(lease).toEpochMilli());
                ps.setString(3, t.id());
                ps.setString(4, t.key());
                ps.setLong(5, now.toEpochMilli());
                ps.setLong(6, now.toEpochMilli());
                if (ps.executeUpdate() == 1) {
                    claimed.add(t);
                }
            }
        });
        return claimed;
    }

    @Override
    public boolean renewCopy(CopyTask task, Instant until) throws IOException {
        boolean[] held = {false};
        write("ledger cannot renew the claim on a copy of " + task.key(), () -> {
            PreparedStatement ps = statement("UPDATE replication_queue SET claimed_until_millis = ?"
                    + " WHERE id = ? AND claimed_by = ?");
            ps.setLong(1, until.toEpochMilli());
            ps.setString(2, task.id());
            ps.setString(3, node);
            held[0] = ps.executeUpdate() == 1;
        });
        return held[0];
    }

    @Override
    public void copied(CopyTask task, StoredChange change) throws IOException {
        write("ledger cannot record the copy of " + task.key() + " on " + task.target(), () -> {
            PreparedStatement ps = statement("DELETE FROM replication_queue WHERE id = ?");
            ps.setString(1, task.id());
            ps.executeUpdate();
            applyLocked(change);
        });
    }

    /** Removes {@code task} if this node holds it. */
    private void dropLocked(CopyTask task) throws SQLException {
        PreparedStatement ps = statement("DELETE FROM replication_queue WHERE id = ? AND claimed_by = ?");
        ps.setString(1, task.id());
        ps.setString(2, node);
        ps.executeUpdate();
    }

    /** A new target that another task of the key has already is left to that task: this one ends. */
    @Override
    public void retryCopy(CopyTask task, String target, int attempts, Instant next) throws IOException {
        write("ledger cannot reschedule the copy of " + task.key(), () -> {
            if (!target.equals(task.target())) {
                PreparedStatement taken = statement("SELECT COUNT(*) FROM replication_queue"
                        + " WHERE pool = ? AND object_key = ? AND target = ? AND id <> ?");
                taken.setString(1, task.pool());
                taken.setString(2, task.key());
                taken.setString(3, target);
                taken.setString(4, task.id());
                try (ResultSet rs = taken.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        dropLocked(task);
                        return;
                    }
                }
            }
            PreparedStatement ps = statement("UPDATE replication_queue SET target = ?, attempts = ?,"
                    + " next_attempt_millis = ?, claimed_by = NULL, claimed_until_millis = NULL"
                    + " WHERE id = ? AND claimed_by = ?");
            ps.setString(1, target);
            ps.setInt(2, attempts);
            ps.setLong(3, next.toEpochMilli());
            ps.setString(4, task.id());
            ps.setString(5, node);
            ps.executeUpdate();
        });
    }

    @Override
    public void dropCopy(CopyTask task) throws IOException {
        write("ledger cannot drop the copy of " + task.key(), () -> dropLocked(task));
    }

    @Override
    public int releaseCopies() throws IOException {
        int[] released = {0};
        write("ledger cannot release the copies claimed by node " + node, () -> {
            PreparedStatement ps = statement("UPDATE replication_queue SET claimed_by = NULL, claimed_until_millis = NULL"
                    + (exclusive ? " WHERE claimed_by IS NOT NULL" : " WHERE claimed_by = ?"));
            if (!exclusive) {
                ps.setString(1, node);
            }
            released[0] = ps.executeUpdate();
        });
        return released[0];
    }

    @Override
    public List<CopyTask> pendingCopies(String pool, String key) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT " + TASK_COLUMNS + " FROM replication_queue"
                        + " WHERE pool = ? AND object_key = ? ORDER BY target");
                ps.setString(1, pool);
                ps.setString(2, key);
                List<CopyTask> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(task(rs));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the replication queue: " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, PendingTotals> pendingTotals() throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT pool, COUNT(*), SUM(size), MIN(enqueued_millis)"
                        + " FROM replication_queue GROUP BY pool");
                Map<String, PendingTotals> out = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), new PendingTotals(rs.getLong(2), rs.getLong(3),
                                Instant.ofEpochMilli(rs.getLong(4))));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the replication queue: " + e.getMessage(), e);
        }
    }

    private void addTotalsLocked(StoredChange c) throws SQLException {
        addTotalsLocked(c.backend(), c.user(), c.bytes(), c.objects());
    }

    private void addTotalsLocked(String backend, String user, long bytes, long objects) throws SQLException {
        if (sums != null) {
            sums.add(BatchSums.Counter.STORED, List.of(backend, user), bytes, objects);
            return;
        }
        PreparedStatement up = statement("UPDATE stored_totals SET bytes = bytes + ?, objects = objects + ?"
                + " WHERE backend = ? AND user_name = ? AND node = ?");
        up.setLong(1, bytes);
        up.setLong(2, objects);
        up.setString(3, backend);
        up.setString(4, user);
        up.setString(5, rowNode);
        if (up.executeUpdate() == 1) {
            return;
        }
        PreparedStatement in = statement("INSERT INTO stored_totals (backend, user_name, node, bytes, objects)"
                + " VALUES (?, ?, ?, ?, ?)");
        in.setString(1, backend);
        in.setString(2, user);
        in.setString(3, rowNode);
        in.setLong(4, bytes);
        in.setLong(5, objects);
        in.executeUpdate();
    }

    /**
     * Deletes the removed copies, then records the added ones as the user's: a copy already
     * recorded on the same backend is replaced and counts as recorded last, as in
     * {@link Ledger#inMemory()}.
     */
    private void placeLocked(StoredChange c) throws SQLException {
        if (c.removed().isEmpty() && c.added().isEmpty()) {
            return;
        }
        PreparedStatement delete = statement("DELETE FROM placements WHERE pool = ? AND object_key = ? AND backend = ?");
        for (Placement p : c.removed()) {
            delete.setString(1, p.pool());
            delete.setString(2, p.key());
            delete.setString(3, p.backend());
            delete.executeUpdate();
        }
        PreparedStatement last = statement("SELECT MAX(seq) FROM placements WHERE pool = ? AND object_key = ?");
        PreparedStatement insert = statement("INSERT INTO placements (pool, object_key, backend, user_name, size,"
                + " modified_millis, seq) VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (Placement p : c.added()) {
            delete.setString(1, p.pool());
            delete.setString(2, p.key());
            delete.setString(3, p.backend());
            delete.executeUpdate();
            last.setString(1, p.pool());
            last.setString(2, p.key());
            long seq;
            try (ResultSet rs = last.executeQuery()) {
                rs.next();
                seq = rs.getLong(1) + 1; // the MAX of no copies is null, which getLong reads as 0
            }
            insert.setString(1, p.pool());
            insert.setString(2, p.key());
            insert.setString(3, p.backend());
            insert.setString(4, c.user());
            insert.setLong(5, p.size());
            insert.setLong(6, p.modified().toEpochMilli());
            insert.setLong(7, seq);
            insert.executeUpdate();
        }
    }

    @Override
    public Map<Protocol, Map<String, Counters>> transferred(Instant since, Instant until) throws IOException {
        String sql = "SELECT protocol, user_name, direction, outcome, SUM(bytes), COUNT(*) FROM transfers"
                + " WHERE outcome <> 'active' AND ended_at >= ? AND ended_at < ?"
                + " GROUP BY protocol, user_name, direction, outcome";
        try {
            return read(r -> {
                PreparedStatement ps = r.statement(sql);
                ps.setLong(1, since == null ? Long.MIN_VALUE : since.toEpochMilli());
                ps.setLong(2, until == null ? Long.MAX_VALUE : until.toEpochMilli());
                try (ResultSet rs = ps.executeQuery()) {
                    return counters(rs);
                }
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    private static Map<Protocol, Map<String, Counters>> counters(ResultSet rs) throws SQLException {
        Map<Protocol, Map<String, Counters>> transferred = new java.util.TreeMap<>();
        while (rs.next()) {
            Protocol p = Protocol.of(rs.getString(1));
            Counters c = Counters.of(Direction.valueOf(rs.getString(3)), rs.getString(4).equals("completed"),
                    rs.getLong(5), rs.getLong(6));
            transferred.computeIfAbsent(p, k -> new HashMap<>()).merge(rs.getString(2), c, Counters::plus);
        }
        return transferred;
    }

    @Override
    public List<TransferRecord> recent(int limit, String user, Instant since) throws IOException {
        return recent(TransferQuery.of(limit, user, since));
    }

    @Override
    public List<TransferRecord> recent(TransferQuery q) throws IOException {
        StringBuilder sql = new StringBuilder("SELECT id, user_name, protocol, direction, path, backend, bytes, outcome,"
                + " started_at, ended_at FROM transfers WHERE outcome <> 'active' AND started_at >= ?");
        List<Object> args = new ArrayList<>();
        args.add(q.since() == null ? Long.MIN_VALUE : q.since().toEpochMilli());
        if (q.until() != null) {
            sql.append(" AND started_at < ?");
            args.add(q.until().toEpochMilli());
        }
        if (q.user() != null) {
            sql.append(" AND user_name = ?");
            args.add(q.user());
        }
        if (q.protocol() != null) {
            sql.append(" AND protocol = ?");
            args.add(q.protocol().id().toUpperCase(java.util.Locale.ROOT)); // as started() records it
        }
        if (q.succeeded() != null) {
            sql.append(" AND outcome = ?");
            args.add(q.succeeded() ? "completed" : "failed");
        }
        if (q.before() != null) {
            String at = "(SELECT b.started_at FROM transfers b WHERE b.id = ? AND b.outcome <> 'active')";
            sql.append(" AND (started_at < ").append(at).append(" OR (started_at = ").append(at).append(" AND id < ?))");
            args.add(q.before());
            args.add(q.before());
            args.add(q.before());
        }
        sql.append(" ORDER BY started_at DESC, id DESC LIMIT ").append(Math.max(0, q.limit()));
        try {
            return read(r -> {
                try (PreparedStatement ps = r.connection.prepareStatement(sql.toString())) {
                    for (int i = 0; i < args.size(); i++) {
                        ps.setObject(i + 1, args.get(i));
                    }
                    List<TransferRecord> out = new ArrayList<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            out.add(new TransferRecord(rs.getString(1), rs.getString(2), Protocol.of(rs.getString(3)),
                                    Direction.valueOf(rs.getString(4)), rs.getString(5), rs.getString(6), rs.getLong(7),
                                    rs.getString(8).equals("completed"), Instant.ofEpochMilli(rs.getLong(9)),
                                    Instant.ofEpochMilli(rs.getLong(10))));
                        }
                    }
                    return out;
                }
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /** The stored totals as the ledger holds them, backend -> user -> totals. */
    public synchronized Map<String, Map<String, StoredTotals>> storedTotals() throws IOException {
        return load().stored();
    }

    /**
     * Sets the stored totals of a backend and user to what the backend really holds, and
     * records the adjustment with its reason, in one transaction.
     */
    public synchronized void adopt(String backend, String user, StoredTotals actual, String reason) throws IOException {
        try {
            db.setAutoCommit(false);
            StoredTotals old = StoredTotals.ZERO;
            try (PreparedStatement ps = db.prepareStatement("SELECT SUM(bytes), SUM(objects) FROM stored_totals"
                    + " WHERE backend = ? AND user_name = ? HAVING COUNT(*) > 0")) {
                ps.setString(1, backend);
                ps.setString(2, user);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        old = new StoredTotals(rs.getLong(1), rs.getLong(2));
                    }
                }
            }
            StoredChange delta = new StoredChange(backend, user, actual.bytes() - old.bytes(), actual.objects() - old.objects());
            applyLocked(delta);
            try (PreparedStatement ps = db.prepareStatement("INSERT INTO adjustments (at_millis, backend, user_name,"
                    + " bytes_delta, objects_delta, reason) VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setLong(1, clock.millis());
                ps.setString(2, backend);
                ps.setString(3, user);
                ps.setLong(4, delta.bytes());
                ps.setLong(5, delta.objects());
                ps.setString(6, reason);
                ps.executeUpdate();
            }
            db.commit();
        } catch (SQLException e) {
            rollbackQuietly();
            throw new IOException("ledger cannot adopt the backend's figures: " + e.getMessage(), e);
        } finally {
            autoCommitQuietly();
        }
    }

    /**
     * The logical totals of the pools' objects as their placements record them, pool ->
     * user -> totals: each key counts once, with the size of its copies (which agree),
     * however many copies the pool keeps of it.
     */
    public synchronized Map<String, Map<String, StoredTotals>> placedTotals() throws IOException {
        String sql = "SELECT pool, user_name, SUM(size), COUNT(*) FROM (SELECT pool, object_key,"
                + " MIN(user_name) AS user_name, MIN(size) AS size FROM placements GROUP BY pool, object_key) k"
                + " GROUP BY pool, user_name";
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            Map<String, Map<String, StoredTotals>> out = new HashMap<>();
            while (rs.next()) {
                out.computeIfAbsent(rs.getString(1), k -> new HashMap<>())
                        .put(rs.getString(2), new StoredTotals(rs.getLong(3), rs.getLong(4)));
            }
            return out;
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /** The user whose object {@code key} of {@code pool} is, as its placements record it; null when it has none. */
    public synchronized String owner(String pool, String key) throws IOException {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT MIN(user_name) FROM placements WHERE pool = ? AND object_key = ?")) {
            ps.setString(1, pool);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new IOException("ledger cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * True when this process holds the database alone (an embedded file): no gateway can
     * be writing to it meanwhile. False for a database that gateways share.
     */
    public boolean heldAlone() {
        return exclusive;
    }

    /** How many adjustments reconciling has recorded. */
    public synchronized int adjustments() throws IOException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM adjustments")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private void rollbackQuietly() {
        try {
            db.rollback();
        } catch (SQLException e) {
            log.warn("ledger rollback failed: {}", e.toString());
        }
    }

    private void autoCommitQuietly() {
        try {
            db.setAutoCommit(true);
        } catch (SQLException e) {
            log.warn("ledger: {}", e.toString());
        }
    }

    @Override
    public void close() {
        synchronized (queue) {
            if (!closed) {
                closed = true;
                queue.add(stop);
            }
        }
        stop.done().join(); // what was queued before it is written
        if (readers != null) {
            readers.close();
        }
        synchronized (this) {
            closeDb();
        }
        releaseQuietly(lockFile);
        if (commitLocks instanceof PostgresCommitLocks p) {
            p.close();
        }
    }

    @Override
    public CommitLocks commitLocks() {
        return commitLocks;
    }

    private void closeDb() {
        try {
            db.close();
        } catch (SQLException e) {
            log.warn("ledger close failed: {}", e.toString());
        }
    }

    /**
     * Reads on a query connection ({@link #read}), with the statement prepared once on it:
     * a pool asks for every read of an object.
     */
    @Override
    public List<Placement> copies(String pool, String key) throws IOException {
        try {
            return read(r -> {
                PreparedStatement ps = r.statement("SELECT backend, size, modified_millis FROM placements"
                        + " WHERE pool = ? AND object_key = ? ORDER BY seq, backend");
                ps.setString(1, pool);
                ps.setString(2, key);
                List<Placement> out = new ArrayList<>(2);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Placement(pool, key, rs.getString(1), rs.getLong(2), Instant.ofEpochMilli(rs.getLong(3))));
                    }
                }
                return out;
            });
        } catch (SQLException e) {
            throw new IOException("ledger cannot read the copies of " + key + " in " + pool + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean modified(String pool, String key, Instant modified) throws IOException {
        boolean[] changed = {false};
        write("ledger cannot record the modification time of " + key + " in " + pool, () -> {
            PreparedStatement ps = statement("UPDATE placements SET modified_millis = ? WHERE pool = ? AND object_key = ?");
            ps.setLong(1, modified.toEpochMilli());
            ps.setString(2, pool);
            ps.setString(3, key);
            changed[0] = ps.executeUpdate() > 0;
        });
        return changed[0];
    }

    /**
     * A range scan of the primary key: keys from {@code prefix}, or after {@code after}, up
     * to the least string above every key that starts with the prefix ({@link #prefixEnd}),
     * in the database's order of strings (see {@link #utf16Order}). The range has one lower
     * bound: given two, H2 and SQLite start from the first and filter up to the other, so
     * that the last pages of a large folder would read all those before them. The ORDER BY
     * names the key's columns from the first, for H2 to read the index in order. Rows are
     * read a bounded number at a time, so that a page never reads a large folder to its end;
     * should a page's keys have more copies than a read holds, the next read goes on after
     * the last row.
     */
    @Override
    public List<Placement> under(String pool, String prefix, String after, int limit) throws IOException {
        try {
            return read(r -> underOn(r, pool, prefix, after, limit));
        } catch (SQLException e) {
            throw new IOException("ledger cannot list " + pool + " under " + prefix + ": " + e.getMessage(), e);
        }
    }

    private List<Placement> underOn(ReadConnections.Reader reader, String pool, String prefix, String after, int limit)
            throws SQLException {
        List<Placement> out = new ArrayList<>();
        if (limit <= 0) {
            return out;
        }
        String from = prefix == null ? "" : prefix;
        String end = prefixEnd(from, utf16Order);
        // Enough rows for a page of keys with two copies each and the next key, in one read.
        int rows = rowsFor(limit + 1L, 2);
        String lastKey = null;
        String lastBackend = null;
        int keys = 0;
        while (true) {
            boolean fromAfter = lastKey == null && after != null && compareKeys(after, from) >= 0;
            StringBuilder sql = new StringBuilder("SELECT object_key, backend, size, modified_millis FROM placements"
                    + " WHERE pool = ?");
            sql.append(fromAfter ? " AND object_key > ?" : " AND object_key >= ?");
            if (end != null) {
                sql.append(" AND object_key < ?");
            }
            if (lastKey != null) {
                sql.append(" AND (object_key > ? OR backend > ?)");
            }
            sql.append(" ORDER BY pool, object_key, backend LIMIT ?");
            PreparedStatement ps = reader.statement(sql.toString());
            int i = 1;
            ps.setString(i++, pool);
            ps.setString(i++, lastKey != null ? lastKey : fromAfter ? after : from);
            if (end != null) {
                ps.setString(i++, end);
            }
            if (lastKey != null) {
                ps.setString(i++, lastKey);
                ps.setString(i++, lastBackend);
            }
            ps.setInt(i, rows);
            int read = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    read++;
                    String key = rs.getString(1);
                    if (!key.equals(lastKey)) {
                        if (keys == limit) {
                            return out;
                        }
                        keys++;
                    }
                    lastKey = key;
                    lastBackend = rs.getString(2);
                    out.add(new Placement(pool, key, lastBackend, rs.getLong(3), Instant.ofEpochMilli(rs.getLong(4))));
                }
            }
            if (read < rows) {
                return out;
            }
            // The last key may have more copies: read on for it and the keys still
            // missing, at as many copies a key as so far.
            rows = rowsFor(limit - keys + 2L, (out.size() + keys - 1) / keys);
        }
    }

    /** Compares keys as the database does ({@link #utf16Order}). */
    private int compareKeys(String a, String b) {
        return utf16Order ? a.compareTo(b) : compareCodePoints(a, b);
    }

    /** Compares strings by code points, as UTF-8 bytes compare. */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Rows for {@code keys} keys of {@code copies} copies each, as a LIMIT. */
    private static int rowsFor(long keys, int copies) {
        return (int) Math.min(Integer.MAX_VALUE - 1, keys * Math.max(1, copies));
    }

    /**
     * The least string greater than every string that starts with {@code prefix}, when
     * strings compare by UTF-16 code units ({@code utf16}) or by code points; null when
     * there is none (the prefix is empty or only the highest character). With the bound,
     * {@code k >= prefix AND k < end} holds exactly for the keys {@code k} that start with
     * {@code prefix}: no LIKE, whose wildcards would need escaping and whose case SQLite
     * ignores, and a range the primary key serves.
     */
    static String prefixEnd(String prefix, boolean utf16) {
        int end = prefix.length();
        if (utf16) {
            while (end > 0 && prefix.charAt(end - 1) == Character.MAX_VALUE) {
                end--;
            }
            return end == 0 ? null : prefix.substring(0, end - 1) + (char) (prefix.charAt(end - 1) + 1);
        }
        while (end > 0) {
            int cp = prefix.codePointBefore(end);
            int start = end - Character.charCount(cp);
            if (cp < Character.MAX_CODE_POINT) {
                int next = cp + 1;
                if (next >= Character.MIN_SURROGATE && next <= Character.MAX_SURROGATE) {
                    next = Character.MAX_SURROGATE + 1; // no code points there: U+D7FF is followed by U+E000
                }
                return prefix.substring(0, start) + Character.toString(next);
            }
            end = start;
        }
        return null;
    }
}
