package org.transfergateway.storage.meter;

/** Bytes and objects held in storage through the gateway. */
public record StoredTotals(long bytes, long objects) {
    public static final StoredTotals ZERO = new StoredTotals(0, 0);

    public StoredTotals plus(long b, long o) {
        return new StoredTotals(bytes + b, objects + o);
    }

    public StoredTotals plus(StoredTotals o) {
        return plus(o.bytes, o.objects);
    }
}
