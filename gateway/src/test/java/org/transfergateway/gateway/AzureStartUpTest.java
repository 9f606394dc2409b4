package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.testing.AzuriteFixture;

/**
 * The start-up checks of an Azure backend as a user meets them: a missing container, a
 * wrong account key, a wrong or expired SAS, a connection string with a wrong key, an
 * unreachable endpoint and no usable credential at all each exit with status 2 and one
 * line naming the backend.
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
        return CommandLineTest.run("", "serve", "--config", config("container: " + container + ", endpoint: \"" + endpoint
                + "\", account-name: " + AzuriteFixture.ACCOUNT + ", account-key: \"" + key + "\"").toString());
    }

    /** A configuration whose one backend {@code blob} has the settings {@code backend} (YAML flow-map entries). */
    private Path config(String backend) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, """
                ftp: {port: 0}
                http: {port: 0}
                storage:
                  backends:
                    - {name: blob, type: azure, %s}
                users: [{name: a, password: b}]
                ledger: {url: %s}
                """.formatted(backend, dir.resolve("ledger")));
        return f;
    }

    private CommandLineTest.Result serveWithSas(String sas) throws Exception {
        return CommandLineTest.run("", "serve", "--config", config("container: present, endpoint: \"" + azurite.endpoint()
                + "\", account-name: " + AzuriteFixture.ACCOUNT + ", sas-token: \"" + sas + "\"").toString());
    }

    /** The same SAS with another signature: what a SAS of another key, or a mistyped one, looks like. */
    private static String resigned(String sas) {
        return sas.replaceFirst("sig=[^&]+", "sig=" + URLEncoder.encode(Base64.getEncoder().encodeToString(new byte[32]), StandardCharsets.UTF_8));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aWrongSasExitsWithTwoAndOneLine() throws Exception {
        CommandLineTest.Result r = serveWithSas(resigned(azurite.accountSas(OffsetDateTime.now().plusHours(1))));
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (blob): blob: container present at " + azurite.endpoint()
                + " is unreachable: access denied (AuthorizationFailure)\n", r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anExpiredSasExitsWithTwoAndOneLine() throws Exception {
        CommandLineTest.Result r = serveWithSas(azurite.accountSas(OffsetDateTime.now().minusMinutes(5)));
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (blob): blob: container present at " + azurite.endpoint()
                + " is unreachable: access denied (AuthorizationFailure)\n", r.err());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aConnectionStringWithAWrongKeyExitsWithTwoAndOneLine() throws Exception {
        String connection = "DefaultEndpointsProtocol=http;AccountName=" + AzuriteFixture.ACCOUNT + ";AccountKey=d3Jvbmcga2V5;BlobEndpoint="
                + azurite.endpoint() + ";";
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config",
                config("container: present, connection-string: \"" + connection + "\"").toString());
        assertEquals(2, r.status());
        assertEquals("gateway: storage.backends[0] (blob): blob: container present at the connection string's endpoint"
                + " is unreachable: access denied (AuthorizationFailure)\n", r.err());
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

    /**
     * Without key, SAS or connection string the SDK's default credential chain is asked for
     * a token. Its settings here point every source that would go over the network at a
     * loopback listener of this test (a service principal's authority host, and the
     * managed identity endpoint), so that nothing leaves the machine: the listener shows the
     * chain was really consulted, and with no token to be had the start-up exits with 2 and
     * one line naming the backend. (A token accepted end to end would need an HTTPS identity
     * provider and Azurite with OAuth over HTTPS: not tested here.)
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void withoutAnyCredentialTheDefaultChainIsAskedAndStartUpExitsWithTwoAndOneLine() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        // Bearer tokens go over HTTPS only: the SDK refuses them to an http:// endpoint before asking the chain.
        String endpoint = "https://127.0.0.1:" + closed + "/" + AzuriteFixture.ACCOUNT;
        AtomicInteger asked = new AtomicInteger();
        try (ServerSocket identity = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread listener = new Thread(() -> {
                while (!identity.isClosed()) {
                    try (Socket c = identity.accept()) {
                        asked.incrementAndGet(); // closed at once: no token from here
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "identity-listener");
            listener.setDaemon(true);
            listener.start();
            String here = "127.0.0.1:" + identity.getLocalPort();
            // The managed identity of an App Service: its token endpoint is the listener, instead of the
            // instance metadata service off this machine.
            Map<String, String> env = Map.of("IDENTITY_ENDPOINT", "http://" + here + "/msi/token", "IDENTITY_HEADER", "x");
            Path f = config("container: present, endpoint: \"" + endpoint + "\", account-name: " + AzuriteFixture.ACCOUNT);
            CommandLineTest.Result r = GatewayProcess.runToExit(f, env, dir);
            assertEquals(2, r.status(), r.out() + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("gateway: storage.backends[0] (blob): blob: container present at " + endpoint
                    + " cannot be used: the default credential chain gave no token"), r.err());
            assertTrue(asked.get() > 0, "the credential chain asked nobody: " + r.err() + r.out());
            LoggerFactory.getLogger(AzureStartUpTest.class).info("no credential: {} connections to the identity endpoint; {}",
                    asked.get(), r.err().strip());
        }
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
