package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.FakeGcsServer;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * A pool spanning four kinds of backend (S3 on S3Proxy, Azure on Azurite, GCS on the fake
 * GCS server, local disk), two copies of each object: uploads over FTP and HTTP land on exactly two members, byte
 * for byte, reads, renames and deletes find them, /api/stats counts each member's copies
 * as the members themselves list them, and {@code reconcile} finds no drift.
 */
class MixedPoolTest {
    static final String BUCKET = "mixed-pool";
    static final String CONTAINER = "mixed-pool";
    @TempDir
    static Path data;
    static S3ProxyFixture s3;
    static AzuriteFixture azurite;
    static BlobContainerClient container;
    static FakeGcsServer gcs;
    static Gateway gateway;
    static String yaml;
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        azurite = AzuriteFixture.shared();
        container = azurite.createContainer(CONTAINER);
        s3 = S3ProxyFixture.sharedInMemory();
        s3.createBucket(BUCKET);
        gcs = FakeGcsServer.start();
        gcs.createBucket(BUCKET);
        yaml = """
                ftp: {port: 0, passive-ports: 53620-53660}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: root-disk, type: local, root: %s}
                    - {name: s3, type: s3, bucket: %s, endpoint: "%s", path-style: true,
                       access-key: %s, secret-key: %s, checksums: when-required}
                    - {name: blob, type: azure, container: %s, endpoint: "%s", account-name: %s, account-key: "%s"}
                    - {name: gcs, type: gcs, bucket: %s, project: test-project, endpoint: "%s"}
                    - {name: disk, type: local, root: %s}
                  pools:
                    - {name: mixed, backends: [s3, blob, gcs, disk], policy: round-robin, replicas: 2, replication: sync}
                users:
                  - {name: alice, password: secret, backend: mixed, admin: true}
                ledger: {url: %s}
                """.formatted(data.resolve("root"), BUCKET, s3.endpoint(), s3.accessKey(), s3.secretKey(), CONTAINER,
                azurite.endpoint(), AzuriteFixture.ACCOUNT, AzuriteFixture.KEY, BUCKET, gcs.endpoint(), data.resolve("disk"),
                data.resolve("ledger"));
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse(yaml));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (azurite != null) {
            azurite.deleteContainer(CONTAINER);
        }
        if (s3 != null) {
            s3.deleteBucket(BUCKET);
        }
        if (gcs != null) {
            assertEquals(java.util.List.of(), gcs.takeRejected());
            gcs.close();
        }
    }

    private static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + gateway.httpAddress().getPort() + path);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The copy on {@code member} of alice's {@code path}, or null. */
    private static byte[] copyOn(String member, String path) throws IOException {
        String key = "alice" + path;
        switch (member) {
            case "s3" -> {
                try {
                    ResponseBytes<GetObjectResponse> b = s3.client().getObject(g -> g.bucket(BUCKET).key(key), ResponseTransformer.toBytes());
                    return b.asByteArray();
                } catch (software.amazon.awssdk.services.s3.model.NoSuchKeyException e) {
                    return null;
                }
            }
            case "gcs" -> {
                return gcs.content(BUCKET, key);
            }
            case "blob" -> {
                if (!container.getBlobClient(key).exists()) {
                    return null;
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                container.getBlobClient(key).downloadStream(out);
                return out.toByteArray();
            }
            default -> {
                Path f = data.resolve("disk").resolve(key);
                return Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
            }
        }
    }

    /** Each member's objects as it lists them itself: key -> size. */
    private static Map<String, Long> listed(String member) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        switch (member) {
            case "s3" -> s3.client().listObjectsV2Paginator(l -> l.bucket(BUCKET)).contents()
                    .forEach(o -> out.put(o.key(), o.size()));
            case "gcs" -> gcs.names(BUCKET, "").stream().filter(n -> !n.endsWith("/"))
                    .forEach(n -> out.put(n, (long) gcs.content(BUCKET, n).length));
            case "blob" -> container.listBlobs().stream().filter(b -> !b.getName().endsWith("/"))
                    .forEach((BlobItem b) -> out.put(b.getName(), b.getProperties().getContentLength()));
            default -> {
                Path root = data.resolve("disk");
                if (Files.isDirectory(root)) {
                    try (Stream<Path> all = Files.walk(root)) {
                        for (Path p : all.filter(Files::isRegularFile).toList()) {
                            out.put(root.relativize(p).toString(), Files.size(p));
                        }
                    }
                }
            }
        }
        return out;
    }

    private static JsonNode stats() throws Exception {
        for (int i = 0; i < 500; i++) {
            JsonNode s = json.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/api/stats"))
                    .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofString()).body());
            if (s.path("active").isEmpty()) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("transfers still active");
    }

    @Test
    void copiesLandOnTwoMembersOfEveryKindAndTheTotalsMatchWhatTheMembersList() throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("/m/http-1.bin", random(70_001, 1));
        files.put("/m/ftp-1.bin", random(123_457, 2));
        files.put("/m/http-empty.bin", new byte[0]);
        // Over the 5 MiB part, block and chunk size, of unknown length over FTP: parts on S3, blocks on Azure, a resumable session on GCS.
        files.put("/m/ftp-big.bin", random(6 * 1024 * 1024 + 17, 3));
        files.put("/m/http-2.bin", random(33_333, 4));
        files.put("/m/ftp-2.bin", random(1, 5));
        FTPClient ftp = new FTPClient();
        ftp.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(ftp.login("alice", "secret"));
        ftp.enterLocalPassiveMode();
        ftp.setFileType(FTP.BINARY_FILE_TYPE);
        try {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                if (f.getKey().contains("ftp")) {
                    assertTrue(ftp.storeFile(f.getKey(), new ByteArrayInputStream(f.getValue())), ftp.getReplyString());
                } else {
                    assertEquals(201, HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/files" + f.getKey()))
                            .header("Authorization", auth()).PUT(HttpRequest.BodyPublishers.ofByteArray(f.getValue())).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode());
                }
            }
            Map<String, Integer> perMember = new TreeMap<>();
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                int copies = 0;
                for (String m : new String[] {"s3", "blob", "gcs", "disk"}) {
                    byte[] copy = copyOn(m, f.getKey());
                    if (copy != null) {
                        assertArrayEquals(f.getValue(), copy, m + " " + f.getKey());
                        copies++;
                        perMember.merge(m, 1, Integer::sum);
                    }
                }
                assertEquals(2, copies, f.getKey());
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                assertTrue(ftp.retrieveFile(f.getKey(), out), ftp.getReplyString());
                assertArrayEquals(f.getValue(), out.toByteArray(), f.getKey());
            }
            // Round-robin over four members, starting one further each time: s3+blob, blob+gcs,
            // gcs+disk, disk+s3, s3+blob, blob+gcs.
            assertEquals(Map.of("blob", 4, "disk", 2, "gcs", 3, "s3", 3), perMember);

            assertTrue(ftp.rename("/m/http-1.bin", "/m/renamed.bin"), ftp.getReplyString());
            assertTrue(ftp.deleteFile("/m/ftp-1.bin"), ftp.getReplyString());
        } finally {
            ftp.disconnect();
        }
        for (String m : new String[] {"s3", "blob", "gcs", "disk"}) {
            assertEquals(null, copyOn(m, "/m/http-1.bin"), m);
            assertEquals(null, copyOn(m, "/m/ftp-1.bin"), m);
        }

        JsonNode s = stats();
        long logical = 0;
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            if (!f.getKey().equals("/m/ftp-1.bin")) {
                logical += f.getValue().length;
            }
        }
        assertEquals(logical, s.at("/stored/byUser/alice/bytes").asLong());
        assertEquals(5, s.at("/stored/byUser/alice/objects").asLong());
        long memberBytes = 0;
        for (String m : new String[] {"s3", "blob", "gcs", "disk"}) {
            Map<String, Long> objects = listed(m);
            long bytes = objects.values().stream().mapToLong(Long::longValue).sum();
            assertEquals(bytes, s.at("/stored/byBackend/" + m + "/bytes").asLong(), m);
            assertEquals(objects.size(), s.at("/stored/byBackend/" + m + "/objects").asLong(), m);
            memberBytes += bytes;
        }
        assertEquals(2 * logical, memberBytes, "two copies of each byte");

        gateway.close();
        gateway = null;
        Path config = data.resolve("gateway.yaml");
        Files.writeString(config, yaml);
        CommandLineTest.Result r = CommandLineTest.run("", "reconcile", "--config", config.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("no drift"), r.out());
        assertFalse(r.out().contains("missing copy") || r.out().contains("extra copy"), r.out());
    }
}
