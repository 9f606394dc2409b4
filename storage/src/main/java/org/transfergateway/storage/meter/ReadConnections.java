package org.transfergateway.storage.meter;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger's connections for queries, apart from the writer's: a query never waits
 * behind a commit batch. At most {@link #SIZE} connections, opened when first needed and
 * kept, each with the statements prepared on it (a pool's every read of an object asks
 * for its copies; preparing the SQL again would cost more than the read). A caller takes
 * a connection, runs its query in auto-commit (so no read transaction outlives it) and
 * gives it back; a connection whose query failed is closed, and another opened next time.
 * A fixed handful kept this way needs none of a general pool's knobs, nor its dependency.
 */
final class ReadConnections implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReadConnections.class);

    /** Queries at once; a fifth waits for one of them. */
    static final int SIZE = 4;

    private final String jdbcUrl;
    /** Guarded by {@code this}. */
    private final Deque<Reader> idle = new ArrayDeque<>();
    /** Open connections, idle or taken; guarded by {@code this}. */
    private int open;
    /** Guarded by {@code this}. */
    private boolean closed;

    ReadConnections(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    /** One query on a connection of the pool. */
    interface Query<T> {
        T run(Reader r) throws SQLException;
    }

    /** A connection with its prepared statements; used by one caller at a time. */
    static final class Reader {
        final Connection connection;
        private final Map<String, PreparedStatement> statements = new HashMap<>();

        Reader(Connection connection) {
            this.connection = connection;
        }

        /** The statement for {@code sql}, prepared once on this connection. */
        PreparedStatement statement(String sql) throws SQLException {
            PreparedStatement ps = statements.get(sql);
            if (ps == null) {
                ps = connection.prepareStatement(sql);
                statements.put(sql, ps);
            }
            return ps;
        }

        void close() {
            try {
                connection.close(); // closes its statements too
            } catch (SQLException e) {
                log.warn("ledger read connection close failed: {}", e.toString());
            }
        }
    }

    <T> T query(Query<T> q) throws SQLException {
        Reader r = take();
        boolean ok = false;
        try {
            T out = q.run(r);
            ok = true;
            return out;
        } finally {
            give(r, ok);
        }
    }

    private Reader take() throws SQLException {
        synchronized (this) {
            while (true) {
                if (closed) {
                    throw new SQLException("the ledger is closed");
                }
                if (!idle.isEmpty()) {
                    return idle.pop();
                }
                if (open < SIZE) {
                    open++;
                    break;
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted waiting for a ledger read connection", e);
                }
            }
        }
        try {
            Connection c = DriverManager.getConnection(jdbcUrl);
            c.setAutoCommit(true);
            return new Reader(c);
        } catch (SQLException | RuntimeException e) {
            synchronized (this) {
                open--;
                notifyAll();
            }
            throw e;
        }
    }

    private void give(Reader r, boolean ok) {
        synchronized (this) {
            if (ok && !closed) {
                idle.push(r);
                notifyAll();
                return;
            }
            open--;
            notifyAll();
        }
        r.close();
    }

    @Override
    public void close() {
        Deque<Reader> toClose;
        synchronized (this) {
            closed = true;
            toClose = new ArrayDeque<>(idle);
            idle.clear();
            notifyAll();
        }
        toClose.forEach(Reader::close);
    }
}
