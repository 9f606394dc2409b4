package org.transfergateway.storage.meter;

import java.util.Locale;

/** {@code IN}: from a client into storage (upload); {@code OUT}: to a client (download). */
public enum Direction {
    IN, OUT;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
