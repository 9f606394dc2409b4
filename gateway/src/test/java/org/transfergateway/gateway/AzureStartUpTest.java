package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.AzuriteFixture;

/**
 * The start-up checks of an Azure backend as a user meets them: a missing container, a
 * wrong account key and an unreachable endpoint each exit with status 2 and one line
 * naming the backend.
 */
class AzureStartUpTest {
    static AzuriteFixture azurite;
    @TempDir
    Path dir;

    @BeforeAll
    static void azurite() {
        azurite = AzuriteFixture.shared();
        azurite.createContainer("present");
    }

    private CommandLineTest.Result serve(String container, String endpoint, String key) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, """
                ftp: {port: 0}
                http: {port: 0}
                storage:
                  backends:
                    - {name: blob, type: azure, container: %s, endpoint: "%s", account-name: %s, account-key: "%s"}
                users: [{name: a, password: b}]
                ledger: {url: %s}
                """.formatted(container, endpoint, AzuriteFixture.ACCOUNT, key, dir.resolve("ledger")));
        return CommandLineTest.run("", "serve", "--config", f.toString());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aMissingContainerExitsWithTwoAndOneLine() throws Exception {
        CommandLineTest.Result r = serve("absent", azurite.endpoint().toString(), AzuriteFixture.KEY);
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (blob): blob: container absent at " + azurite.endpoint()
                + " is unreachable: not found (ContainerNotFound)\n", r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aWrongKeyExitsWithTwoAndOneLine() throws Exception {
        CommandLineTest.Result r = serve("present", azurite.endpoint().toString(), "d3Jvbmcga2V5");
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (blob): blob: container present at " + azurite.endpoint()
                + " is unreachable: access denied (AuthorizationFailure)\n", r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anUnreachableEndpointExitsWithTwoAndOneLine() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closed + "/" + AzuriteFixture.ACCOUNT;
        CommandLineTest.Result r = serve("present", endpoint, AzuriteFixture.KEY);
        assertEquals(2, r.status());
        assertEquals(1, r.err().lines().count(), r.err());
        assertEquals(true, r.err().startsWith("gateway: storage.backends[0] (blob): blob: container present at " + endpoint
                + " is unreachable: "), r.err());
    }
}
