package org.transfergateway.storage.meter;

import java.util.Locale;

/** The front end a transfer came through. */
public enum Protocol {
    FTP, HTTP;

    /** "ftp" or "http", as in the statistics JSON. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
