package org.transfergateway.storage.meter;

/** Transfer totals of one slice (all, one protocol, one user), as in the statistics JSON. */
public record Counters(long bytesIn, long bytesOut, long filesIn, long filesOut, long failedIn, long failedOut) {
    public static final Counters ZERO = new Counters(0, 0, 0, 0, 0, 0);

    public Counters plus(Counters o) {
        return new Counters(bytesIn + o.bytesIn, bytesOut + o.bytesOut, filesIn + o.filesIn,
                filesOut + o.filesOut, failedIn + o.failedIn, failedOut + o.failedOut);
    }

    /** The counters of one finished transfer. */
    public static Counters of(TransferRecord r) {
        boolean in = r.direction() == Direction.IN;
        long ok = r.succeeded() ? 1 : 0;
        long failed = 1 - ok;
        return in
                ? new Counters(r.bytes(), 0, ok, 0, failed, 0)
                : new Counters(0, r.bytes(), 0, ok, 0, failed);
    }
}
