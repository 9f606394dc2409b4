package org.transfergateway.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the ledger of transfers and totals lives.
 *
 * @param url a folder for the embedded database, or a {@code jdbc:} URL of a shared one
 */
public record LedgerConfig(String url) {

    /** The embedded ledger's file in its folder. */
    public static final String SQLITE_FILE = "ledger.db";
    /** The file of an embedded ledger written by earlier releases, which kept it in H2. */
    public static final String H2_FILE = "ledger.mv.db";

    /**
     * The JDBC URL to open. A folder holds an embedded SQLite database in WAL mode: each
     * commit is written to the log before it returns, so a killed process loses no
     * completed transfer. A folder that already holds an H2 ledger (and no SQLite one)
     * keeps it, so that no totals are lost on an upgrade.
     */
    public String jdbcUrl() {
        if (url.startsWith("jdbc:")) {
            return url;
        }
        Path folder = Path.of(url).toAbsolutePath().normalize();
        if (Files.exists(folder.resolve(H2_FILE)) && !Files.exists(folder.resolve(SQLITE_FILE))) {
            return "jdbc:h2:file:" + folder.resolve("ledger") + ";WRITE_DELAY=0";
        }
        // EXCLUSIVE: one gateway per ledger file, as with H2's file lock. temp_store=MEMORY:
        // each write of a batch runs behind a savepoint, whose statement journal SQLite
        // otherwise creates, writes and deletes as a temporary file, batch after batch.
        return "jdbc:sqlite:" + folder.resolve(SQLITE_FILE)
                + "?journal_mode=WAL&synchronous=NORMAL&locking_mode=EXCLUSIVE&temp_store=MEMORY";
    }
}
