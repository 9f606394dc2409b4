package org.transfergateway.gateway;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.StoredTotals;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reconcile}: lists every backend (ListObjectsV2 page by page on S3, a walk of the
 * folder on local disk), sums sizes and counts under each user's home, and compares them
 * with the ledger's stored totals. Exit 0 when they agree, 1 when they drift; {@code --fix}
 * adopts the backend's figures and records the adjustment in the ledger.
 */
@Command(name = "reconcile", mixinStandardHelpOptions = true,
        description = "Compares the ledger's stored totals with what the backends hold.")
final class ReconcileCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "the YAML configuration (embedded defaults without it)")
    Path config;

    @Option(names = "--fix", description = "adopt the backends' figures and record that in the ledger")
    boolean fix;

    PrintStream out = System.out;

    /** One row of the drift table. */
    record Row(String backend, String user, StoredTotals ledger, StoredTotals actual) {
        boolean drifts() {
            return !ledger.equals(actual);
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
            List<Row> rows = compare(cfg, backends.all(), ledger.storedTotals());
            print(rows);
            boolean drift = rows.stream().anyMatch(Row::drifts);
            if (drift && fix) {
                for (Row r : rows) {
                    if (r.drifts()) {
                        ledger.adopt(r.backend(), r.user(), r.actual(), "reconcile --fix: backend listing");
                    }
                }
                out.println("fixed: the ledger now holds the backends' figures");
            }
            return drift ? 1 : 0;
        }
    }

    /** Walks each backend once; each object counts for the user whose home holds it most closely. */
    static List<Row> compare(GatewayConfig cfg, Map<String, Storage> backends,
                             Map<String, Map<String, StoredTotals>> ledger) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, Storage> b : backends.entrySet()) {
            List<UserConfig> users = cfg.users().stream().filter(u -> u.backend().equals(b.getKey()))
                    .sorted(Comparator.comparingInt((UserConfig u) -> u.home().length()).reversed()).toList();
            Map<String, StoredTotals> actual = new HashMap<>();
            users.forEach(u -> actual.put(u.name(), StoredTotals.ZERO));
            b.getValue().walk("", info -> {
                for (UserConfig u : users) {
                    String home = u.home().equals("/") ? "" : u.home().substring(1) + "/";
                    if (info.key().startsWith(home)) {
                        actual.merge(u.name(), new StoredTotals(info.size(), 1), StoredTotals::plus);
                        return;
                    }
                }
            });
            Map<String, StoredTotals> counted = ledger.getOrDefault(b.getKey(), Map.of());
            Map<String, Boolean> names = new TreeMap<>();
            actual.keySet().forEach(n -> names.put(n, true));
            counted.keySet().forEach(n -> names.put(n, true));
            for (String user : names.keySet()) {
                rows.add(new Row(b.getKey(), user, counted.getOrDefault(user, StoredTotals.ZERO),
                        actual.getOrDefault(user, StoredTotals.ZERO)));
            }
        }
        return rows;
    }

    private void print(List<Row> rows) {
        String fmt = "%-12s %-14s %16s %16s %16s %10s %10s %10s%n";
        out.printf(fmt, "backend", "user", "ledger bytes", "backend bytes", "drift bytes", "ledger obj", "backend obj", "drift obj");
        for (Row r : rows) {
            out.printf(fmt, r.backend(), r.user(), r.ledger().bytes(), r.actual().bytes(),
                    signed(r.actual().bytes() - r.ledger().bytes()), r.ledger().objects(), r.actual().objects(),
                    signed(r.actual().objects() - r.ledger().objects()));
        }
        long drifting = rows.stream().filter(Row::drifts).count();
        out.println(drifting == 0 ? "no drift" : drifting + " of " + rows.size() + " drift");
    }

    private static String signed(long v) {
        return v > 0 ? "+" + v : Long.toString(v);
    }
}
