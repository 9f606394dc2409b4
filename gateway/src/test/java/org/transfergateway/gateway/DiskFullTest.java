package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;

/**
 * A full disk, for real: the local backend's root is a 2 MiB tmpfs (mounting it needs
 * root; the test is skipped otherwise). An upload that fills it answers HTTP 507 or FTP
 * 452, leaves nothing behind, is counted failed, and the space is free again after it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DiskFullTest {
    @TempDir
    static Path data;
    static Path files;
    static boolean mounted;
    static Gateway gateway;

    @BeforeAll
    static void start() throws Exception {
        files = Files.createDirectories(data.resolve("files"));
        mounted = run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", files.toString());
        Assumptions.assumeTrue(mounted, "cannot mount a tmpfs (not root?)");
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 53500-53599}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                ledger: {url: %s}
                """.formatted(files, data.resolve("ledger"))));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (mounted) {
            run("umount", files.toString());
        }
    }

    private static boolean run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    private static HttpResponse<String> put(String path, byte[] body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Nothing of the failed upload is left: no file, no temporary part. */
    private static void nothingLeft(String name) throws Exception {
        assertFalse(Files.exists(files.resolve("alice").resolve(name)));
        try (Stream<Path> parts = Files.list(files.resolve(".transfer-gateway-tmp"))) {
            assertEquals(0, parts.count(), "temporary parts left");
        }
    }

    private static Counters totals() {
        return gateway.meter().statistics(u -> true).transferred();
    }

    @Test
    void anHttpUploadThatFillsTheDiskAnswers507() throws Exception {
        Counters before = totals();
        HttpResponse<String> r = put("/full.bin", new byte[3 << 20]);
        assertEquals(507, r.statusCode(), r.body());
        assertEquals("{\"error\":\"insufficient_storage\",\"message\":\"/full.bin: not enough storage space on the server\"}",
                r.body());
        nothingLeft("full.bin");
        Counters after = totals();
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.filesIn(), after.filesIn());

        byte[] small = "the space is free again".getBytes(StandardCharsets.UTF_8);
        assertEquals(201, put("/small.bin", small).statusCode());
        assertArrayEquals(small, Files.readAllBytes(files.resolve("alice/small.bin")));
    }

    @Test
    void anFtpUploadThatFillsTheDiskAnswers452() throws Exception {
        Counters before = totals();
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        try {
            assertTrue(c.login("alice", "secret"));
            c.enterLocalPassiveMode();
            c.setFileType(FTP.BINARY_FILE_TYPE);
            OutputStream data = c.storeFileStream("full-ftp.bin");
            try {
                data.write(new byte[3 << 20]);
                data.close();
            } catch (IOException reset) {
                // The gateway closes the data connection when the disk is full; a client still
                // sending then sees it reset. The reply on the control connection says why.
                try {
                    data.close();
                } catch (IOException alsoReset) {
                    // as above
                }
            }
            assertFalse(c.completePendingCommand(), c.getReplyString());
            assertEquals(452, c.getReplyCode(), c.getReplyString());
            assertTrue(c.getReplyString().startsWith("452 STOR: "), c.getReplyString());
            assertTrue(c.getReplyString().contains("not enough storage space"), c.getReplyString());
        } finally {
            c.disconnect();
        }
        nothingLeft("full-ftp.bin");
        Counters after = totals();
        assertEquals(before.failedIn() + 1, after.failedIn());
        assertEquals(before.filesIn(), after.filesIn());
    }
}
