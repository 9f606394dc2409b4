package org.transfergateway.config;

/**
 * Where the ledger of transfers and totals lives.
 *
 * @param url a folder for the embedded database, or a {@code jdbc:} URL of a shared one
 */
public record LedgerConfig(String url) {

    /** The JDBC URL to open: an embedded H2 file database unless a JDBC URL was given. */
    public String jdbcUrl() {
        if (url.startsWith("jdbc:")) {
            return url;
        }
        return "jdbc:h2:file:" + java.nio.file.Path.of(url).toAbsolutePath().resolve("ledger");
    }
}
