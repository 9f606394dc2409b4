package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.LedgerConfig;

/**
 * The ledger is never reset without a word: an embedded ledger file that exists but is
 * empty or unreadable stops start-up with status 2 and one line naming it, and a new
 * ledger beside a backend that already holds files says that stored starts from zero
 * and how to adopt the backend's figures.
 */
class LedgerStartupTest {
    private static final String EMPTY_REASON = " is empty (0 bytes), not a ledger: restore it from a backup, or remove it"
            + " to start from zero and adopt the backends' figures with reconcile --fix";
    private static final String NEW_LEDGER_WARNING = "WARN  Gateway - ledger: the ledger is new, so stored starts from zero,"
            + " but backend local already holds files; to adopt the backends' figures, stop the gateway and run:"
            + " reconcile --config FILE --fix";

    @TempDir
    Path dir;

    private Path config(String name) throws Exception {
        Path f = dir.resolve(name + ".yaml");
        Files.writeString(f, """
                ftp: {port: 0, passive-ports: 54300-54320}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret}
                ledger: {url: %s}
                """.formatted(dir.resolve("files-" + name), dir.resolve("ledger-" + name)));
        return f;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anEmptyLedgerFileStopsStartUpWithOneLineNamingIt() throws Exception {
        Path config = config("empty");
        Path file = Files.createDirectories(dir.resolve("ledger-empty")).resolve(LedgerConfig.SQLITE_FILE);
        Files.createFile(file);
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config.toString());
        assertEquals(2, r.status());
        assertEquals("gateway: ledger.url: " + file + EMPTY_REASON + "\n", r.err());
        assertEquals(0, Files.size(file), "the file is left as it was");

        CommandLineTest.Result reconcile = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(2, reconcile.status());
        assertEquals("gateway: ledger.url: " + file + EMPTY_REASON + "\n", reconcile.err());
    }

    /** A folder with the H2 ledger of an earlier release keeps it: an empty one is refused alike. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anEmptyEarlierH2LedgerFileStopsStartUpToo() throws Exception {
        Path config = config("h2");
        Path file = Files.createDirectories(dir.resolve("ledger-h2")).resolve(LedgerConfig.H2_FILE);
        Files.createFile(file);
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config.toString());
        assertEquals(2, r.status());
        assertEquals("gateway: ledger.url: " + file + EMPTY_REASON + "\n", r.err());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anUnreadableLedgerFileStopsStartUpWithOneLineNamingIt() throws Exception {
        Path config = config("garbage");
        Path file = Files.createDirectories(dir.resolve("ledger-garbage")).resolve(LedgerConfig.SQLITE_FILE);
        byte[] garbage = new byte[8192];
        java.util.Arrays.fill(garbage, (byte) 'x');
        Files.write(file, garbage);
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("gateway: ledger.url: ledger " + file + " cannot be opened: "), r.err());
        assertTrue(r.err().contains("not a database"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertEquals(8192, Files.size(file), "the file is left as it was");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aNewLedgerBesideStoredFilesSaysStoredStartsFromZero() throws Exception {
        Path config = config("new");
        Path home = Files.createDirectories(dir.resolve("files-new/alice/reports"));
        for (int i = 0; i < 3; i++) {
            Files.write(home.resolve("r" + i + ".csv"), new byte[1000 + i]);
        }
        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(List.of(NEW_LEDGER_WARNING), warnings(g), g.log());
            assertEquals(0, g.terminate());
        }
        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(List.of(), warnings(g), "the ledger is no longer new\n" + g.log());
            assertEquals(0, g.terminate());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aNewLedgerBesideAnEmptyBackendSaysNothing() throws Exception {
        Path config = config("fresh");
        Files.createDirectories(dir.resolve("files-fresh/alice/empty-folder"));
        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(List.of(), warnings(g), g.log());
            assertEquals(0, g.terminate());
        }
    }

    /** The log's lines about a new ledger, without their time stamps. */
    private static List<String> warnings(GatewayProcess g) {
        return g.log().lines().filter(l -> l.contains("ledger is new"))
                .map(l -> l.substring(l.indexOf(' ') + 1)).toList();
    }
}
