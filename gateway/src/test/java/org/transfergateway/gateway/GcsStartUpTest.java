package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * The start-up checks of a GCS backend as a user meets them, against the fake GCS server:
 * a missing bucket, refused credentials, an unreadable credentials file and an unreachable
 * endpoint each exit with status 2 and one line naming the backend.
 */
class GcsStartUpTest {
    static FakeGcsServer fake;
    @TempDir
    Path dir;

    @BeforeAll
    static void fake() throws Exception {
        fake = FakeGcsServer.start();
        fake.createBucket("present");
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    private CommandLineTest.Result serve(String bucket, String endpoint, String extra) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, """
                ftp: {port: 0}
                http: {port: 0}
                storage:
                  backends:
                    - {name: cloud, type: gcs, bucket: %s, project: test-project, endpoint: "%s"%s}
                users: [{name: a, password: b}]
                ledger: {url: %s}
                """.formatted(bucket, endpoint, extra, dir.resolve("ledger")));
        return CommandLineTest.run("", "serve", "--config", f.toString());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aMissingBucketExitsWithTwoAndOneLine() throws Exception {
        CommandLineTest.Result r = serve("absent", fake.endpoint().toString(), "");
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (cloud): cloud: bucket absent at " + fake.endpoint() + " does not exist\n", r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void refusedCredentialsExitWithTwoAndOneLine() throws Exception {
        Path key = org.transfergateway.storage.gcs.GcsKeys.serviceAccountKey(dir, fake.tokenUri());
        CommandLineTest.Result r = serve("present", fake.endpoint().toString(), ", credentials-file: \"" + key + "\"");
        assertEquals(2, r.status());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gateway: storage.backends[0] (cloud): cloud: bucket present at " + fake.endpoint()
                + " refuses the credentials: "), r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anUnreadableCredentialsFileExitsWithTwoAndOneLine() throws Exception {
        Path key = Files.writeString(dir.resolve("key.json"), "not json");
        CommandLineTest.Result r = serve("present", fake.endpoint().toString(), ", credentials-file: \"" + key + "\"");
        assertEquals(2, r.status());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gateway: storage.backends[0] (cloud): cloud: bucket present at " + fake.endpoint()
                + " cannot be used: the credentials file " + key + " cannot be read: "), r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anUnreachableEndpointExitsWithTwoAndOneLine() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closed;
        CommandLineTest.Result r = serve("present", endpoint, "");
        assertEquals(2, r.status());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gateway: storage.backends[0] (cloud): cloud: bucket present at " + endpoint
                + " is unreachable: "), r.err());
    }
}
