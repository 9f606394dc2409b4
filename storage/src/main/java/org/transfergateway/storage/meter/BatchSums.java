package org.transfergateway.storage.meter;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The counter additions of one ledger batch, summed per row, so that a batch of many
 * small transfers updates each counter row once before its commit instead of once per
 * transfer: with small files, those per-transfer updates were most of the ledger's work.
 *
 * <p>Each write of the batch runs behind a savepoint; its additions are held apart until
 * the write succeeds ({@link #keep()}) and dropped with it when its savepoint is rolled
 * back ({@link #drop()}). Not thread-safe: used by the batch's one writer.
 */
final class BatchSums {
    /** The counter tables whose rows only ever grow by additions. */
    enum Counter { MINUTE, NODE_TRANSFERRED, STORED, NODE_STORED }

    /** One counter row: its table and key columns' values. */
    record Row(Counter counter, List<Object> key) {}

    /** Writes the sum of one row's additions. */
    interface Sink {
        void add(Row row, long[] deltas) throws SQLException;
    }

    private final Map<Row, long[]> kept = new LinkedHashMap<>();
    private final Map<Row, long[]> current = new LinkedHashMap<>();

    void add(Counter counter, List<Object> key, long... deltas) {
        current.merge(new Row(counter, key), deltas.clone(), BatchSums::sum);
    }

    /** The running write succeeded: its additions join the batch's. */
    void keep() {
        current.forEach((row, d) -> kept.merge(row, d, BatchSums::sum));
        current.clear();
    }

    /** The running write was rolled back: its additions go with it. */
    void drop() {
        current.clear();
    }

    /**
     * Writes every row's sum, in one order that every node shares (table, then key): two
     * nodes' batches on one PostgreSQL ledger lock the rows they add to in the same order,
     * so they wait for each other instead of deadlocking. Keeps the sums: a flush that
     * failed may be run again.
     */
    void flush(Sink sink) throws SQLException {
        List<Map.Entry<Row, long[]>> rows = new ArrayList<>(kept.entrySet());
        rows.sort(Map.Entry.comparingByKey(ORDER));
        for (Map.Entry<Row, long[]> e : rows) {
            sink.add(e.getKey(), e.getValue());
        }
    }

    private static final Comparator<Row> ORDER = (a, b) -> {
        int c = a.counter().compareTo(b.counter());
        for (int i = 0; c == 0 && i < Math.min(a.key().size(), b.key().size()); i++) {
            Object x = a.key().get(i);
            Object y = b.key().get(i);
            c = x instanceof Number n && y instanceof Number m ? Long.compare(n.longValue(), m.longValue())
                    : String.valueOf(x).compareTo(String.valueOf(y));
        }
        return c != 0 ? c : Integer.compare(a.key().size(), b.key().size());
    };

    private static long[] sum(long[] a, long[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
        return a;
    }
}
