package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * Error replies reveal nothing of the server: storage failures provoked for real on
 * local disk and on S3 (S3Proxy stopped, the bucket gone) are answered over FTP and
 * HTTP with the user's own path and a reason, never a server path, a backend name, a
 * bucket, a key prefix, a home folder or an exception's text.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ErrorRepliesTest {
    static final String LOCAL = "disk-backend-x";
    static final String CLOUD = "cloud-backend-y";
    static final String BUCKET = "hidden-bucket-z";
    static final String PREFIX = "secret-prefix";
    @TempDir
    static Path data;
    static Path files;
    static S3ProxyFixture s3;
    static Gateway gateway;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyFixture.start(S3ProxyFixture.Provider.IN_MEMORY);
        s3.createBucket(BUCKET);
        files = data.resolve("files");
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 53400-53499}
                http: {port: 0}
                storage:
                  backends:
                    - {name: %s, type: local, root: %s}
                    - {name: %s, type: s3, bucket: %s, prefix: %s/, endpoint: %s, path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                users:
                  - {name: alice, password: secret, backend: %s, home: /alice-home}
                  - {name: bob, password: secret, backend: %s, home: /bob-home}
                ledger: {url: %s}
                """.formatted(LOCAL, files, CLOUD, BUCKET, PREFIX, s3.endpoint(), s3.accessKey(), s3.secretKey(),
                LOCAL, CLOUD, data.resolve("ledger"))));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    /** The reply names the user's path and nothing of the server. */
    private static void revealsNothing(String reply, String userPath) {
        assertTrue(reply.contains(userPath), "the user's path is named: " + reply);
        for (String secret : List.of(data.toString(), files.toString(), ".transfer-gateway-tmp", ".part", LOCAL, CLOUD,
                BUCKET, PREFIX, "alice-home", "bob-home", s3.endpoint().getAuthority(), "Exception", "java.", "amazon")) {
            assertFalse(reply.contains(secret), "the reply reveals " + secret + ": " + reply);
        }
    }

    private static HttpResponse<String> put(String user, String path, byte[] body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/files" + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":secret").getBytes(StandardCharsets.UTF_8)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static FTPClient ftp(String user) throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(c.login(user, "secret"), c.getReplyString());
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        return c;
    }

    @Test
    void aFailedRenameIntoPlaceNamesNoServerPath() throws Exception {
        FTPClient c = ftp("alice");
        try {
            Path temp = files.resolve(".transfer-gateway-tmp");
            OutputStream out = c.storeFileStream("renamed.bin");
            assertNotNull(out, c.getReplyString());
            out.write(new byte[100_000]);
            out.flush();
            // The upload's temporary file vanishes: the rename into place fails as a full or broken disk would make it.
            Path part = null;
            for (int i = 0; i < 200 && part == null; i++) {
                try (Stream<Path> parts = Files.list(temp)) {
                    part = parts.findFirst().orElse(null);
                }
                Thread.sleep(part == null ? 25 : 0);
            }
            assertNotNull(part, "the upload's temporary file");
            Files.delete(part);
            out.close();
            assertFalse(c.completePendingCommand());
            assertEquals(451, c.getReplyCode(), c.getReplyString());
            revealsNothing(c.getReplyString(), "/renamed.bin");
        } finally {
            c.disconnect();
        }
        assertFalse(Files.exists(files.resolve("alice-home/renamed.bin")));
    }

    @Test
    void anUnwritableTemporaryFolderNamesNoServerPath() throws Exception {
        Path temp = files.resolve(".transfer-gateway-tmp");
        // A file where the temporary folder should be: no upload can start.
        Files.delete(temp);
        Files.writeString(temp, "in the way");
        try {
            HttpResponse<String> r = put("alice", "/t/blocked.bin", new byte[1000]);
            assertEquals(502, r.statusCode(), r.body());
            revealsNothing(r.body(), "/t/blocked.bin");

            FTPClient c = ftp("alice");
            try {
                assertFalse(c.storeFile("blocked-ftp.bin", new ByteArrayInputStream(new byte[1000])));
                assertEquals(451, c.getReplyCode(), c.getReplyString());
                revealsNothing(c.getReplyString(), "blocked-ftp.bin");
            } finally {
                c.disconnect();
            }
        } finally {
            Files.delete(temp);
            Files.createDirectory(temp);
        }
    }

    @Test
    void aFileWhereAFolderIsNeededIsNamedByTheUsersPath() throws Exception {
        assertEquals(201, put("alice", "/plain.txt", "x".getBytes(StandardCharsets.UTF_8)).statusCode());
        HttpResponse<String> r = put("alice", "/plain.txt/inner.bin", new byte[10]);
        assertEquals(409, r.statusCode(), r.body());
        revealsNothing(r.body(), "/plain.txt/inner.bin");

        FTPClient c = ftp("alice");
        try {
            assertFalse(c.storeFile("/plain.txt/inner-ftp.bin", new ByteArrayInputStream(new byte[10])));
            assertEquals(550, c.getReplyCode(), c.getReplyString());
            revealsNothing(c.getReplyString(), "/plain.txt/inner-ftp.bin");
        } finally {
            c.disconnect();
        }
    }

    @Test
    void aMissingBucketAndAStoppedS3ServerAreNamedByTheUsersPathOnly() throws Exception {
        s3.deleteBucket(BUCKET);
        try {
            HttpResponse<String> r = put("bob", "/gone/a.bin", new byte[1000]);
            assertEquals(502, r.statusCode(), r.body());
            revealsNothing(r.body(), "/gone/a.bin");
            FTPClient c = ftp("bob");
            try {
                assertFalse(c.storeFile("b.bin", new ByteArrayInputStream(new byte[1000])));
                assertEquals(451, c.getReplyCode(), c.getReplyString());
                revealsNothing(c.getReplyString(), "b.bin");
            } finally {
                c.disconnect();
            }
        } finally {
            s3.createBucket(BUCKET);
        }

        s3.stop();
        try {
            HttpResponse<String> r = put("bob", "/down/a.bin", new byte[1000]);
            assertEquals(503, r.statusCode(), r.body());
            revealsNothing(r.body(), "/down/a.bin");
            FTPClient c = ftp("bob");
            try {
                assertFalse(c.storeFile("down.bin", new ByteArrayInputStream(new byte[1000])));
                assertEquals(451, c.getReplyCode(), c.getReplyString());
                revealsNothing(c.getReplyString(), "down.bin");
            } finally {
                c.disconnect();
            }
        } finally {
            s3.restart();
        }
    }
}
