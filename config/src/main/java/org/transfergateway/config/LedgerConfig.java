package org.transfergateway.config;

/**
 * Where the ledger of transfers and totals lives.
 *
 * @param url a folder for the embedded database, or a {@code jdbc:} URL of a shared one
 */
public record LedgerConfig(String url) {

    /**
     * The JDBC URL to open: an embedded H2 file database in the folder unless a JDBC URL
     * was given. H2 writes each commit to its file at once (no write delay), so a killed
     * process loses no completed transfer.
     */
    public String jdbcUrl() {
        if (url.startsWith("jdbc:")) {
            return url;
        }
        return "jdbc:h2:file:" + java.nio.file.Path.of(url).toAbsolutePath().normalize().resolve("ledger") + ";WRITE_DELAY=0";
    }
}
