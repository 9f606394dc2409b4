package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Per-user permissions, quotas and the upload size limit, checked over FTP and HTTP alike:
 * the same operation is refused (550 / 403, 552 / 413) on both, and a refused upload
 * leaves nothing behind.
 */
class PermissionsTest {
    @TempDir
    static Path dir;
    static Gateway gateway;
    static Path files;

    @BeforeAll
    static void start() throws Exception {
        files = dir.resolve("files");
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 53500-53550}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                limits: {max-upload-size: 1MiB}
                users:
                  - {name: owner, password: pw, home: /shared}
                  - {name: reader, password: pw, home: /shared, access: read-only}
                  - {name: dropbox, password: pw, home: /shared, access: write-only}
                  - {name: keeper, password: pw, home: /shared, delete: false}
                  - {name: quota, password: pw, quota: {bytes: 1000, files: 2}}
                ledger: {url: %s}
                """.formatted(files, dir.resolve("ledger"))));
        Files.createDirectories(files.resolve("shared"));
        Files.writeString(files.resolve("shared/existing.txt"), "existing");
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static FTPClient ftp(String user) throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(c.login(user, "pw"));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    private static int http(String user, String method, String path, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":pw").getBytes(StandardCharsets.UTF_8)));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        b.timeout(java.time.Duration.ofSeconds(20));
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void readOnlyUsersReadButNeverWriteOrDelete() throws Exception {
        FTPClient c = ftp("reader");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(c.retrieveFile("existing.txt", out));
        assertEquals("existing", out.toString(StandardCharsets.UTF_8));
        assertFalse(c.storeFile("r.txt", new ByteArrayInputStream("x".getBytes())));
        assertEquals(550, c.getReplyCode());
        assertFalse(c.deleteFile("existing.txt"));
        assertEquals(550, c.getReplyCode());
        assertFalse(c.makeDirectory("d"));
        assertEquals(550, c.getReplyCode());
        c.disconnect();
        assertEquals(200, http("reader", "GET", "/existing.txt", null));
        assertEquals(403, http("reader", "PUT", "/r.txt", "x".getBytes()));
        assertEquals(403, http("reader", "DELETE", "/existing.txt", null));
        assertFalse(Files.exists(files.resolve("shared/r.txt")));
        assertTrue(Files.exists(files.resolve("shared/existing.txt")));
    }

    @Test
    void writeOnlyUsersDropFilesButCannotReadOrList() throws Exception {
        FTPClient c = ftp("dropbox");
        assertTrue(c.storeFile("dropped-ftp.txt", new ByteArrayInputStream("in".getBytes())), c.getReplyString());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertFalse(c.retrieveFile("existing.txt", out));
        assertEquals(550, c.getReplyCode());
        c.disconnect();
        assertEquals(201, http("dropbox", "PUT", "/dropped-http.txt", "in".getBytes()));
        assertEquals(403, http("dropbox", "GET", "/existing.txt", null));
        assertEquals(403, http("dropbox", "GET", "/", null));
        assertEquals("in", Files.readString(files.resolve("shared/dropped-ftp.txt")));
        assertEquals("in", Files.readString(files.resolve("shared/dropped-http.txt")));
    }

    @Test
    void usersWithoutDeleteCannotDeleteNorReplace() throws Exception {
        Files.writeString(files.resolve("shared/keep.txt"), "keep");
        FTPClient c = ftp("keeper");
        assertFalse(c.deleteFile("keep.txt"));
        assertEquals(550, c.getReplyCode());
        assertFalse(c.storeFile("keep.txt", new ByteArrayInputStream("overwritten".getBytes())));
        assertEquals(550, c.getReplyCode());
        assertTrue(c.storeFile("new-by-keeper.txt", new ByteArrayInputStream("new".getBytes())));
        c.disconnect();
        assertEquals(403, http("keeper", "DELETE", "/keep.txt", null));
        assertEquals(403, http("keeper", "PUT", "/keep.txt", "overwritten".getBytes()));
        assertEquals("keep", Files.readString(files.resolve("shared/keep.txt")));
    }

    @Test
    void quotaStopsTheUploadAtTheLimitAndLeavesNothing() throws Exception {
        assertEquals(201, http("quota", "PUT", "/a.bin", new byte[600]));
        assertEquals(413, http("quota", "PUT", "/b.bin", new byte[600]));
        assertFalse(Files.exists(files.resolve("quota/b.bin")));
        FTPClient c = ftp("quota");
        assertFalse(c.storeFile("c.bin", new ByteArrayInputStream(new byte[600])));
        assertEquals(552, c.getReplyCode(), c.getReplyString());
        assertFalse(Files.exists(files.resolve("quota/c.bin")));
        assertTrue(c.storeFile("d.bin", new ByteArrayInputStream(new byte[100])));
        // two files is the file quota
        assertFalse(c.storeFile("e.bin", new ByteArrayInputStream(new byte[1])));
        assertEquals(552, c.getReplyCode(), c.getReplyString());
        // replacing a file adds no file
        assertTrue(c.storeFile("d.bin", new ByteArrayInputStream(new byte[50])), c.getReplyString());
        c.disconnect();
        var stored = gateway.meter().statistics(u -> true).storedByUser().get("quota");
        assertEquals(650, stored.bytes());
        assertEquals(2, stored.objects());
    }

    @Test
    void uploadsOverTheSizeLimitAreRefusedOnBothProtocols() throws Exception {
        byte[] big = new byte[(1 << 20) + 1];
        // Refused from its head, before the body is read; then the connection closes.
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("PUT /files/big-http.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                    + Base64.getEncoder().encodeToString("owner:pw".getBytes(StandardCharsets.UTF_8))
                    + "\r\nContent-Length: " + big.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            String status = new String(s.getInputStream().readNBytes(12), StandardCharsets.UTF_8);
            assertEquals("HTTP/1.1 413", status);
        }
        FTPClient c = ftp("owner");
        assertFalse(c.storeFile("big-ftp.bin", new ByteArrayInputStream(big)));
        assertEquals(552, c.getReplyCode(), c.getReplyString());
        assertTrue(c.storeFile("fits.bin", new ByteArrayInputStream(new byte[1 << 20])));
        c.disconnect();
        assertFalse(Files.exists(files.resolve("shared/big-http.bin")));
        assertFalse(Files.exists(files.resolve("shared/big-ftp.bin")));
        assertArrayEquals(new byte[1 << 20], Files.readAllBytes(files.resolve("shared/fits.bin")));
    }
}
