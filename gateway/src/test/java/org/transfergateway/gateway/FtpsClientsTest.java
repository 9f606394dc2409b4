package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.StoredTotals;

/**
 * Explicit FTPS with real clients that are not Java: lftp (GnuTLS, like FileZilla) lists,
 * uploads and downloads a few MiB under TLS 1.3 and with TLS 1.2 forced; Python's ssl
 * (OpenSSL) shows that data connections resume the control connection's session under
 * both versions; curl uploads and downloads. Each client is skipped when it is not
 * installed, unless GATEWAY_TEST_REQUIRE_CLIENTS=1 (as in CI) makes that a failure.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FtpsClientsTest {
    /** Sizes that are not a multiple of any buffer or TLS record size. */
    private static final int SIZE = 3 * 1024 * 1024 + 4321;
    /**
     * Uploads per lftp run: whether an upload survived the session ticket left unread
     * ({@code HeldBackSocket}) depended on timing, about one in three failed.
     */
    private static final int UPLOADS = 20;

    @TempDir
    static Path dir;
    static TlsFixture tls;
    static Gateway gateway;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        tls = TlsFixture.create(dir);
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                tls: {certificate: %s, private-key: %s}
                ftp: {port: 0, passive-ports: 54760-54790, tls: explicit, require-tls: true}
                http: {enabled: false}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: tls13, password: pw}
                  - {name: tls12, password: pw}
                  - {name: python, password: pw}
                  - {name: curl, password: pw}
                ledger: {url: %s}
                """.formatted(tls.cert(), tls.key(), dir.resolve("files"), dir.resolve("ledger"))));
        port = gateway.ftpAddress().getPort();
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void lftpListsUploadsAndDownloadsOverTls13() throws Exception {
        lftpRoundTrip("tls13", "");
    }

    @Test
    void lftpListsUploadsAndDownloadsWithTls12Forced() throws Exception {
        lftpRoundTrip("tls12", "set ssl:priority \"NORMAL:-VERS-ALL:+VERS-TLS1.2\";");
    }

    /** puts, ls, get: each a protected data connection; the transfers are counted exactly. */
    private void lftpRoundTrip(String user, String settings) throws Exception {
        RealClients.require("lftp", "--version");
        byte[] content = random(SIZE, user.hashCode());
        Path local = Files.createDirectories(dir.resolve("lftp-" + user));
        Path up = Files.write(local.resolve("up.bin"), content);
        Path down = local.resolve("down.bin");
        String script = settings + """
                set ssl:ca-file "%s"; set ftp:ssl-force true; set ftp:ssl-protect-data true;
                set net:max-retries 1; set net:timeout 20; set cmd:fail-exit true; set xfer:clobber true;
                open -u %s,pw ftp://127.0.0.1:%d;
                %s ls; get big-%d.bin -o "%s"; bye
                """.formatted(tls.cert(), user, port, puts(up), UPLOADS, down);
        // HOME apart: no rc file or bookmarks of this machine's user, no history written there.
        Result r = run(local, List.of("lftp", "--norc", "-c", script.replace("\n", " ")));
        assertEquals(0, r.status(), "lftp failed:\n" + r.output());
        for (int i = 1; i <= UPLOADS; i++) {
            String name = "big-" + i + ".bin";
            assertTrue(r.output().lines().anyMatch(l -> l.matches(".* " + SIZE + " .* " + name.replace(".", "\\."))),
                    "the listing shows " + name + " and its size:\n" + r.output());
            assertArrayEquals(content, Files.readAllBytes(dir.resolve("files/" + user + "/" + name)), "stored " + name);
        }
        assertArrayEquals(content, Files.readAllBytes(down), "downloaded bytes");
        assertTotals(user, new Counters((long) UPLOADS * SIZE, SIZE, UPLOADS, 1, 0, 0),
                new StoredTotals((long) UPLOADS * SIZE, UPLOADS));
    }

    private static String puts(Path file) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= UPLOADS; i++) {
            sb.append("put \"").append(file).append("\" -o big-").append(i).append(".bin; ");
        }
        return sb.toString();
    }

    @Test
    void dataConnectionsResumeTheControlConnectionsSession() throws Exception {
        RealClients.require("python3", "--version");
        // ftplib itself opens each data connection with a new session; this subclass offers
        // the control connection's session, as FileZilla and lftp do, and reports the outcome.
        String script = """
                import ftplib, io, ssl, sys
                port, cafile, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
                ctx = ssl.create_default_context(cafile=cafile)
                ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
                class Resuming(ftplib.FTP_TLS):
                    def ntransfercmd(self, cmd, rest=None):
                        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
                        conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
                        print(cmd.split()[0], conn.version(), "resumed" if conn.session_reused else "new")
                        return conn, size
                f = Resuming(context=ctx)
                f.connect("127.0.0.1", port)
                f.login("python", "pw")
                f.prot_p()
                f.storbinary("STOR small-" + version, io.BytesIO(b"x" * 1000))
                f.retrlines("LIST", lambda line: None)
                f.retrbinary("RETR small-" + version, lambda b: None)
                f.quit()
                """;
        Path file = Files.writeString(dir.resolve("resume.py"), script);
        for (String[] v : new String[][] {{"TLSv1_3", "TLSv1.3"}, {"TLSv1_2", "TLSv1.2"}}) {
            Result r = run(dir, List.of("python3", file.toString(), String.valueOf(port), tls.cert().toString(), v[0]));
            assertEquals(0, r.status(), r.output());
            assertEquals(List.of("STOR " + v[1] + " resumed", "LIST " + v[1] + " resumed", "RETR " + v[1] + " resumed"),
                    r.output().lines().toList());
        }
    }

    @Test
    void curlUploadsAndDownloadsOverExplicitFtps() throws Exception {
        RealClients.require("curl", "--version");
        byte[] content = random(SIZE, 11);
        Path local = Files.createDirectories(dir.resolve("curl"));
        Path up = Files.write(local.resolve("up.bin"), content);
        Path down = local.resolve("down.bin");
        String url = "ftp://127.0.0.1:" + port + "/big.bin";
        List<String> curl = List.of("curl", "-sS", "--ssl-reqd", "--cacert", tls.cert().toString(), "-u", "curl:pw");
        Result put = run(local, concat(curl, "-T", up.toString(), url));
        assertEquals(0, put.status(), put.output());
        Result get = run(local, concat(curl, "-o", down.toString(), url));
        assertEquals(0, get.status(), get.output());
        assertArrayEquals(content, Files.readAllBytes(down));
        assertTotals("curl", new Counters(SIZE, SIZE, 1, 1, 0, 0), new StoredTotals(SIZE, 1));
    }

    /** The ledger's totals of {@code user}, once its transfers have ended (226 may come first). */
    private static void assertTotals(String user, Counters transferred, StoredTotals stored) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        Statistics s = gateway.meter().statistics(u -> true);
        while (!(transferred.equals(s.transferredByUser().get(user)) && stored.equals(s.storedByUser().get(user)))
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            s = gateway.meter().statistics(u -> true);
        }
        assertEquals(transferred, s.transferredByUser().get(user), "transferred by " + user);
        assertEquals(stored, s.storedByUser().get(user), "stored by " + user);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    /** Skips the test when {@code tool} is missing, or fails it where CI requires the clients. */
    private record Result(int status, String output) {
    }

    private static Result run(Path home, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        // Read while it runs: a full pipe would stall the client.
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                out.append(e);
            }
        });
        reader.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(5_000);
            fail(command.get(0) + " did not finish within 60 s:\n" + out);
        }
        reader.join(5_000);
        return new Result(p.exitValue(), out.toString());
    }
}
