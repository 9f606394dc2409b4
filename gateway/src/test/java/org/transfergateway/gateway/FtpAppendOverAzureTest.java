package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.CountingRelay;

/**
 * FTP APPE and REST + STOR over Azure Blob Storage (Azurite) through the whole gateway:
 * the blob is continued without being read back (a relay in front of Azurite counts what
 * comes back), only the client's bytes count as transferred, and the stored totals move
 * by the change in size.
 */
class FtpAppendOverAzureTest {
    private static final String CONTAINER = "gateway-append";
    private static final int MIB = 1024 * 1024;
    private static final long REQUEST_OVERHEAD = 64 * 1024;
    @TempDir
    static Path dir;
    static AzuriteFixture azurite;
    static BlobContainerClient container;
    static CountingRelay relay;
    static Gateway gateway;
    static final ObjectMapper json = new ObjectMapper();

    FTPClient ftp;

    @BeforeAll
    static void start() throws Exception {
        azurite = AzuriteFixture.shared();
        container = azurite.createContainer(CONTAINER);
        relay = new CountingRelay(azurite.endpoint());
        gateway = Gateway.start(new ConfigLoader(Map.of("AZURE_ACCOUNT", AzuriteFixture.ACCOUNT, "AZURE_KEY", AzuriteFixture.KEY)).parse("""
                ftp: {port: 0, passive-ports: 55500-55540}
                http: {port: 0}
                storage:
                  part-size: 8MiB
                  backends:
                    - name: blob
                      type: azure
                      container: %s
                      prefix: gw/
                      endpoint: %s/%s
                      account-name: ${AZURE_ACCOUNT}
                      account-key: ${AZURE_KEY}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(CONTAINER, relay.endpoint(), AzuriteFixture.ACCOUNT, dir.resolve("ledger"))));
    }

    @AfterAll
    static void stop() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        relay.close();
        azurite.deleteContainer(CONTAINER);
    }

    @BeforeEach
    void login() throws IOException {
        ftp = new FTPClient();
        ftp.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(ftp.login("alice", "secret"));
        ftp.enterLocalPassiveMode();
        ftp.setFileType(FTP.BINARY_FILE_TYPE);
    }

    @AfterEach
    void logout() throws IOException {
        if (ftp.isConnected()) {
            ftp.disconnect();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[] a, int aLength, byte[] b) {
        byte[] all = new byte[aLength + b.length];
        System.arraycopy(a, 0, all, 0, aLength);
        System.arraycopy(b, 0, all, aLength, b.length);
        return all;
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private static byte[] blob(String name) {
        return container.getBlobClient("gw/alice/" + name).downloadContent().toBytes();
    }

    private static JsonNode stats() throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + "/api/stats");
        String auth = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
        return json.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri).header("Authorization", auth).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    /** The totals once no transfer is running any more. */
    private static JsonNode settledStats() throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        JsonNode s = stats();
        while (s.path("active").size() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            s = stats();
        }
        assertEquals(0, s.path("active").size(), s.path("active").toString());
        return s;
    }

    private static long ftp(JsonNode s, String name) {
        return s.path("transferred").path("byProtocol").path("ftp").path(name).asLong();
    }

    private static long stored(JsonNode s, String name) {
        return s.path("stored").path("byUser").path("alice").path(name).asLong();
    }

    private static void assertCounted(JsonNode before, JsonNode after, long bytes, long grown) {
        assertEquals(ftp(before, "bytesIn") + bytes, ftp(after, "bytesIn"), "only the client's bytes are transferred");
        assertEquals(ftp(before, "filesIn") + 1, ftp(after, "filesIn"));
        assertEquals(ftp(before, "failedIn"), ftp(after, "failedIn"));
        assertEquals(stored(before, "bytes") + grown, stored(after, "bytes"));
        assertEquals(stored(before, "objects"), stored(after, "objects"));
    }

    @Test
    void appeThenRestInsideABlockContinueTheBlobWithoutReadingItBack() throws Exception {
        byte[] first = random(12 * MIB, 1);
        byte[] tail = random(MIB, 2);
        assertTrue(ftp.storeFile("/appe.bin", new ByteArrayInputStream(first)), ftp.getReplyString());
        JsonNode before = settledStats();
        relay.reset();
        assertTrue(ftp.appendFile("/appe.bin", new ByteArrayInputStream(tail)), ftp.getReplyString());
        assertEquals("226 Transfer complete: " + MIB + " bytes appended to appe.bin", ftp.getReplyString().trim());
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from Azure");
        byte[] appended = concat(first, first.length, tail);
        assertArrayEquals(sha256(appended), sha256(blob("appe.bin")));
        JsonNode afterAppe = settledStats();
        assertCounted(before, afterAppe, MIB, MIB);

        // Inside the first 8 MiB block: Azure copies its first 3 MiB, the rest is cut off.
        int offset = 3 * MIB;
        byte[] more = random(2 * MIB + 1, 3);
        relay.reset();
        ftp.setRestartOffset(offset);
        assertTrue(ftp.storeFile("/appe.bin", new ByteArrayInputStream(more)), ftp.getReplyString());
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from Azure");
        assertArrayEquals(sha256(concat(appended, offset, more)), sha256(blob("appe.bin")));
        assertCounted(afterAppe, settledStats(), more.length, offset + more.length - appended.length);
    }
}
