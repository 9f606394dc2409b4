package org.transfergateway.storage.meter;

import java.sql.SQLException;
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

    /** Writes every row's sum, in the order the rows were first added, and forgets them. */
    void flush(Sink sink) throws SQLException {
        try {
            for (Map.Entry<Row, long[]> e : kept.entrySet()) {
                sink.add(e.getKey(), e.getValue());
            }
        } finally {
            kept.clear();
            current.clear();
        }
    }

    private static long[] sum(long[] a, long[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
        return a;
    }
}
