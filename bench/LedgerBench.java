// The ledger's commit rate without any protocol in front: threads that start and end
// 64 KiB uploads through the gateway's own TransferMeter and JdbcLedger (the classes of
// the gateway's jar), as fast as the ledger records them. Each end waits for its commit,
// as an upload's reply does. NODES ledgers on one database stand for gateway nodes
// sharing a PostgreSQL ledger; the threads are spread over them.
//
//   java -cp gateway.jar bench/LedgerBench.java JDBC_URL NODES THREADS SECONDS
//
// Prints one line: transfers=N seconds=S rate=R/s p50_ms=.. p99_ms=..
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.JdbcLedger;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

public final class LedgerBench {
    private static final long SIZE = 64 * 1024;

    public static void main(String[] a) throws Exception {
        String url = a[0];
        int nodes = Integer.parseInt(a[1]);
        int threads = Integer.parseInt(a[2]);
        double seconds = Double.parseDouble(a[3]);
        List<JdbcLedger> ledgers = new ArrayList<>();
        List<TransferMeter> meters = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
            JdbcLedger l = JdbcLedger.open(url, Clock.systemUTC(), "bench-" + n + "-" + ProcessHandle.current().pid());
            ledgers.add(l);
            meters.add(new TransferMeter(l));
        }
        // One second of warm-up (JIT, connections), then the timed window.
        AtomicBoolean timing = new AtomicBoolean(false);
        AtomicBoolean stop = new AtomicBoolean(false);
        long[][] latencies = new long[threads][];
        int[] counts = new int[threads];
        CountDownLatch done = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            int id = i;
            TransferMeter meter = meters.get(i % nodes);
            latencies[i] = new long[1 << 20];
            Thread t = new Thread(() -> {
                String user = "u" + (id % 10);
                long k = 0;
                try {
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        Transfer tr = meter.start(user, Protocol.of("http"), Direction.IN, "/b/t" + id + "/f" + k++, "local", SIZE);
                        tr.add(SIZE);
                        meter.end(tr, true, new StoredChange("local", user, SIZE, 1));
                        if (timing.get() && counts[id] < latencies[id].length) {
                            latencies[id][counts[id]++] = System.nanoTime() - t0;
                        }
                    }
                } catch (Exception e) {
                    // A transfer the ledger refused ends the run: its rate would mean nothing.
                    System.err.println("LedgerBench: thread " + id + " stopped: " + e);
                    System.exit(1);
                } finally {
                    done.countDown();
                }
            });
            t.setDaemon(true);
            t.start();
        }
        Thread.sleep(1000);
        timing.set(true);
        long t0 = System.nanoTime();
        Thread.sleep((long) (seconds * 1000));
        timing.set(false);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        done.await();
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int p = 0;
        for (int i = 0; i < threads; i++) {
            System.arraycopy(latencies[i], 0, all, p, counts[i]);
            p += counts[i];
        }
        Arrays.sort(all);
        System.out.printf("transfers=%d seconds=%.2f rate=%.0f p50_ms=%.2f p99_ms=%.2f%n", total, elapsed, total / elapsed,
                all.length == 0 ? 0 : all[all.length / 2] / 1e6, all.length == 0 ? 0 : all[(int) (all.length * 0.99)] / 1e6);
        for (JdbcLedger l : ledgers) {
            l.close();
        }
    }
}
