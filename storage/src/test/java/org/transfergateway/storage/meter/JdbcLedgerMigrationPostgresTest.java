package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Nodes that start together on a new PostgreSQL database: each opens the ledger, one
 * migrates it. Runs in a schema of its own where GATEWAY_TEST_POSTGRES_URL names a
 * database; skipped elsewhere.
 */
class JdbcLedgerMigrationPostgresTest {
    private static final String URL = System.getenv("GATEWAY_TEST_POSTGRES_URL");
    private String schema;
    private String url;

    @BeforeEach
    void createSchema() throws Exception {
        Assumptions.assumeTrue(URL != null, "GATEWAY_TEST_POSTGRES_URL is not set");
        schema = "ledger_migration_" + System.nanoTime();
        try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema);
        }
        url = URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @AfterEach
    void dropSchema() throws Exception {
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA " + schema + " CASCADE");
            }
        }
    }

    @Test
    void nodesStartingTogetherOnANewDatabaseEachOpenTheLedger() throws Exception {
        int nodes = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(nodes);
        try {
            List<Future<JdbcLedger>> opened = new ArrayList<>();
            for (int i = 0; i < nodes; i++) {
                String node = "gw-" + i;
                opened.add(pool.submit(() -> {
                    go.await();
                    return JdbcLedger.open(url, Clock.systemUTC(), node);
                }));
            }
            go.countDown();
            for (Future<JdbcLedger> f : opened) {
                f.get().close(); // throws when that node could not open the ledger
            }
        } finally {
            pool.shutdownNow();
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM schema_version")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM ledger_info WHERE name = 'since'")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
            }
        }
    }
}
