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
        return of(r.direction(), r.succeeded(), r.bytes(), 1);
    }

    /** The counters of {@code count} finished transfers of one direction and outcome, {@code bytes} in all. */
    public static Counters of(Direction direction, boolean succeeded, long bytes, long count) {
        long ok = succeeded ? count : 0;
        long failed = succeeded ? 0 : count;
        return direction == Direction.IN
                ? new Counters(bytes, 0, ok, 0, failed, 0)
                : new Counters(0, bytes, 0, ok, 0, failed);
    }
}
