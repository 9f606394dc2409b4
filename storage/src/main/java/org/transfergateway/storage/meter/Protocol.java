package org.transfergateway.storage.meter;

import java.util.Locale;
import java.util.Objects;

/**
 * The front end a transfer came through, as a plain id ("ftp", "http", "sftp"...). Storage
 * knows no protocol by name: each front end names its own, so a new front end never edits
 * this module. The id is what the statistics JSON, the metrics and the ledger show.
 *
 * @param id lower-case letters, digits and "-"
 */
public record Protocol(String id) implements Comparable<Protocol> {

    public Protocol {
        Objects.requireNonNull(id, "id");
        if (!id.matches("[a-z][a-z0-9-]{0,31}")) {
            throw new IllegalArgumentException("not a protocol id: " + id);
        }
    }

    /** The protocol with this id; any case is accepted (the ledger's older rows say "FTP"). */
    public static Protocol of(String id) {
        return new Protocol(id.toLowerCase(Locale.ROOT));
    }

    @Override
    public int compareTo(Protocol o) {
        return id.compareTo(o.id);
    }

    @Override
    public String toString() {
        return id;
    }
}
