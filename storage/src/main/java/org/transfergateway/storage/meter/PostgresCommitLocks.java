package org.transfergateway.storage.meter;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link CommitLocks} across every gateway that shares one PostgreSQL ledger: a session
 * advisory lock on the key's hash, held on a connection of its own while the commit runs
 * (the ledger's writer connection must not wait for a backend). Commits of this process
 * queue in memory first, so each key holds at most one connection.
 */
final class PostgresCommitLocks implements CommitLocks, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PostgresCommitLocks.class);
    /** Idle connections kept for the next commits. */
    private static final int SPARE = 8;

    private final String jdbcUrl;
    private final CommitLocks local = CommitLocks.inProcess();
    private final ConcurrentLinkedQueue<Connection> idle = new ConcurrentLinkedQueue<>();

    PostgresCommitLocks(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    @Override
    public Held lock(String backend, String key) throws IOException {
        long id = CommitLocks.hash(backend, key);
        Held here = local.lock(backend, key);
        Connection c = null;
        try {
            c = borrow();
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(?)")) {
                ps.setLong(1, id);
                ps.execute();
            }
        } catch (SQLException e) {
            discard(c);
            here.close();
            throw new IOException("the ledger cannot order the commit of " + key + ": " + e.getMessage(), e);
        }
        Connection held = c;
        boolean[] released = {false};
        return () -> {
            if (released[0]) {
                return;
            }
            released[0] = true;
            try (PreparedStatement ps = held.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                ps.setLong(1, id);
                ps.execute();
                giveBack(held);
            } catch (SQLException e) {
                // Closing the session releases its advisory locks.
                log.warn("could not release the commit lock of {}: {}", key, e.toString());
                discard(held);
            } finally {
                here.close();
            }
        };
    }

    private Connection borrow() throws SQLException {
        Connection c = idle.poll();
        return c != null ? c : DriverManager.getConnection(jdbcUrl);
    }

    private void giveBack(Connection c) {
        if (idle.size() < SPARE) {
            idle.add(c);
        } else {
            discard(c);
        }
    }

    private static void discard(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // already gone
            }
        }
    }

    @Override
    public void close() {
        for (Connection c; (c = idle.poll()) != null; ) {
            discard(c);
        }
    }
}
