package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Every protocol through the one counting point: a file up and down over FTP, HTTP, SFTP
 * and WebDAV into one gateway, each of another size, and every byte counted once, under
 * its own protocol, in /api/stats and in the Prometheus counters.
 */
class AllProtocolsTest {
    private static final Map<String, Integer> SIZES = Map.of("ftp", 300_001, "http", 200_002, "sftp", 500_003,
            "webdav", 100_004);

    @TempDir
    static Path dir;
    static Gateway gateway;
    static SshClient ssh;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                data-dir: %s
                ftp: {port: 0, passive-ports: 55400-55420}
                http: {port: 0}
                sftp: {port: 0}
                webdav: {enabled: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret}
                  - {name: admin, password: admin-secret, admin: true}
                ledger: {url: %s}
                """.formatted(dir.resolve("data"), dir.resolve("files"), dir.resolve("ledger"))));
        ssh = SshClient.setUpDefaultClient();
        ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        ssh.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (ssh != null) {
            ssh.stop();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    static byte[] content(String protocol) {
        byte[] b = new byte[SIZES.get(protocol)];
        new Random(protocol.hashCode()).nextBytes(b);
        return b;
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    String url(String path) {
        return "http://127.0.0.1:" + gateway.httpAddress().getPort() + path;
    }

    byte[] overHttp(String prefix, String name, byte[] body) throws Exception {
        String path = url(prefix + "/" + name);
        assertEquals(201, http.send(HttpRequest.newBuilder(URI.create(path)).header("Authorization", basic("alice", "secret"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(path)).header("Authorization", basic("alice", "secret"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    byte[] overFtp(byte[] body) throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        try {
            assertTrue(c.login("alice", "secret"));
            c.enterLocalPassiveMode();
            c.setFileType(FTP.BINARY_FILE_TYPE);
            assertTrue(c.storeFile("ftp.bin", new ByteArrayInputStream(body)), c.getReplyString());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertTrue(c.retrieveFile("ftp.bin", out), c.getReplyString());
            return out.toByteArray();
        } finally {
            c.disconnect();
        }
    }

    byte[] overSftp(byte[] body) throws Exception {
        try (ClientSession s = ssh.connect("alice", "127.0.0.1", gateway.sftpAddress().getPort())
                .verify(Duration.ofSeconds(10)).getClientSession()) {
            s.addPasswordIdentity("secret");
            s.auth().verify(Duration.ofSeconds(10));
            try (SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
                try (OutputStream out = c.write("/sftp.bin")) {
                    out.write(body);
                }
                try (InputStream in = c.read("/sftp.bin")) {
                    return in.readAllBytes();
                }
            }
        }
    }

    @Test
    void eachProtocolCountsItsOwnBytesOnce() throws Exception {
        assertArrayEquals(content("ftp"), overFtp(content("ftp")));
        assertArrayEquals(content("http"), overHttp("/files", "http.bin", content("http")));
        assertArrayEquals(content("sftp"), overSftp(content("sftp")));
        assertArrayEquals(content("webdav"), overHttp("/dav", "webdav.bin", content("webdav")));
        for (String p : SIZES.keySet()) {
            assertArrayEquals(content(p), Files.readAllBytes(dir.resolve("files/alice/" + p + ".bin")), p + " stored");
        }

        JsonNode stats = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(url("/api/stats")))
                .header("Authorization", basic("admin", "admin-secret")).build(), HttpResponse.BodyHandlers.ofString()).body());
        long all = SIZES.values().stream().mapToLong(Integer::longValue).sum();
        JsonNode t = stats.get("transferred");
        assertEquals(all, t.get("bytesIn").asLong());
        assertEquals(all, t.get("bytesOut").asLong());
        assertEquals(4, t.get("filesIn").asLong());
        assertEquals(4, t.get("filesOut").asLong());
        assertEquals(0, t.get("failedIn").asLong() + t.get("failedOut").asLong());
        assertEquals(all, stats.get("stored").get("bytes").asLong());
        assertEquals(4, stats.get("stored").get("objects").asLong());
        for (Map.Entry<String, Integer> e : SIZES.entrySet()) {
            JsonNode c = t.get("byProtocol").get(e.getKey());
            assertEquals(e.getValue(), c.get("bytesIn").asInt(), e.getKey() + " in");
            assertEquals(e.getValue(), c.get("bytesOut").asInt(), e.getKey() + " out");
            assertEquals(1, c.get("filesIn").asInt(), e.getKey());
            assertEquals(1, c.get("filesOut").asInt(), e.getKey());
        }
        assertEquals(SIZES.keySet(), iterable(t.get("byProtocol").fieldNames()));

        // The Prometheus counters, labelled by protocol, agree to the byte.
        String metrics = http.send(HttpRequest.newBuilder(URI.create(url("/metrics")))
                .header("Authorization", basic("admin", "admin-secret")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> bytes = new HashMap<>();
        for (String line : metrics.lines().toList()) {
            if (line.startsWith("gateway_transfer_bytes_total{")) {
                String labels = line.substring(line.indexOf('{'), line.indexOf('}'));
                String protocol = labels.replaceAll(".*protocol=\"([^\"]+)\".*", "$1");
                String direction = labels.replaceAll(".*direction=\"([^\"]+)\".*", "$1");
                bytes.merge(protocol + " " + direction, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), Double::sum);
            }
        }
        Map<String, Double> expected = new HashMap<>();
        SIZES.forEach((p, n) -> {
            expected.put(p + " in", (double) n);
            expected.put(p + " out", (double) n);
        });
        assertEquals(expected, bytes, metrics);
    }

    static java.util.Set<String> iterable(java.util.Iterator<String> names) {
        java.util.Set<String> s = new java.util.TreeSet<>();
        names.forEachRemaining(s::add);
        return s;
    }
}
