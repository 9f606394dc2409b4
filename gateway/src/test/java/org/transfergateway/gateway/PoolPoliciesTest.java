package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.pool.Member;
import org.transfergateway.storage.pool.PlacementPolicy;

/**
 * Every placement policy through a real gateway: one pool per policy, each over three
 * local backends of its own, a user on each, 30 uploads over HTTP and FTP. Where each
 * file landed is read from the members' folders on disk, and the totals from
 * {@code /api/stats}, exactly. The policies are deterministic here (sequential uploads of
 * one size), so the expected spreads are exact, not statistical.
 */
class PoolPoliciesTest {
    static final List<String> POLICIES = List.of("round-robin", "weighted", "hash", "least-stored",
            "least-outstanding", "failover");
    static final int FILES = 30;
    static final int SIZE = 1000;
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Gateway gateway;
    static String url;
    static int ftpPort;

    @BeforeAll
    static void start() throws Exception {
        StringBuilder backends = new StringBuilder();
        StringBuilder pools = new StringBuilder();
        StringBuilder users = new StringBuilder();
        for (String p : POLICIES) {
            for (String m : List.of("a", "b", "c")) {
                backends.append("    - {name: ").append(p).append('-').append(m).append(", type: local, root: ")
                        .append(dir.resolve(p + "-" + m)).append("}\n");
            }
            pools.append("    - {name: ").append(p).append(", policy: ").append(p).append(", backends: [")
                    .append(p).append("-a, ").append(p).append("-b, ").append(p).append("-c]")
                    .append(p.equals("weighted") ? ", weights: {" + p + "-a: 3}" : "").append("}\n");
            users.append("  - {name: u-").append(p).append(", password: pw, backend: ").append(p).append("}\n");
        }
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 54900-54950}
                http: {port: 0}
                storage:
                  backends:
                %s  pools:
                %susers:
                %s  - {name: root, password: toor, admin: true, backend: round-robin-a}
                ledger: {url: %s}
                """.formatted(backends, pools, users, dir.resolve("ledger"))));
        url = "http://127.0.0.1:" + gateway.httpAddress().getPort();
        ftpPort = gateway.ftpAddress().getPort();
        for (String p : POLICIES) {
            FTPClient ftp = new FTPClient();
            ftp.connect("127.0.0.1", ftpPort);
            assertTrue(ftp.login("u-" + p, "pw"));
            ftp.setFileType(FTP.BINARY_FILE_TYPE);
            ftp.enterLocalPassiveMode();
            for (int i = 0; i < FILES; i++) {
                // Every other file over FTP, the rest over HTTP.
                if (i % 2 == 0) {
                    assertTrue(ftp.storeFile("f" + i, new ByteArrayInputStream(new byte[SIZE])), ftp.getReplyString());
                } else {
                    put("u-" + p, "/f" + i);
                }
            }
            ftp.logout();
            ftp.disconnect();
        }
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static String auth(String user) {
        String pw = user.equals("root") ? "toor" : "pw";
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + pw).getBytes(StandardCharsets.UTF_8));
    }

    private static void put(String user, String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/files" + path))
                .header("Authorization", auth(user))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[SIZE])).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
    }

    /** Member -> the files of the policy's user it holds, from its folder on disk. */
    private static Map<String, List<String>> spread(String policy) throws Exception {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String m : List.of("a", "b", "c")) {
            Path home = dir.resolve(policy + "-" + m).resolve("u-" + policy);
            List<String> files = new ArrayList<>();
            if (Files.isDirectory(home)) {
                try (var s = Files.list(home)) {
                    s.filter(Files::isRegularFile).forEach(f -> files.add(f.getFileName().toString()));
                }
            }
            out.put(m, files.stream().sorted().toList());
        }
        return out;
    }

    private static List<Integer> counts(String policy) throws Exception {
        return spread(policy).values().stream().map(List::size).toList();
    }

    @Test
    void roundRobinAndTheIdleLeastOutstandingAndLeastStoredSpreadEvenly() throws Exception {
        assertEquals(List.of(10, 10, 10), counts("round-robin"));
        assertEquals(List.of(10, 10, 10), counts("least-outstanding"));
        // One size, one at a time: the least stored member is always the next in turn.
        assertEquals(List.of(10, 10, 10), counts("least-stored"));
    }

    @Test
    void weightedThreeToOneToOneIsExactlySixtyTwentyTwenty() throws Exception {
        assertEquals(List.of(18, 6, 6), counts("weighted"));
    }

    @Test
    void failoverKeepsEverythingOnTheFirstHealthyMember() throws Exception {
        assertEquals(List.of(30, 0, 0), counts("failover"));
    }

    @Test
    void hashPutsEachKeyWhereRendezvousHashingSays() throws Exception {
        PlacementPolicy hash = PlacementPolicy.of("hash");
        List<Member> members = List.of(new Member("hash-a", 1), new Member("hash-b", 1), new Member("hash-c", 1));
        Map<String, List<String>> expected = new LinkedHashMap<>();
        List.of("a", "b", "c").forEach(m -> expected.put(m, new ArrayList<>()));
        for (int i = 0; i < FILES; i++) {
            String key = "u-hash/f" + i;
            expected.get(hash.order(key, members).get(0).name().substring("hash-".length())).add("f" + i);
        }
        expected.replaceAll((m, files) -> files.stream().sorted().toList());
        assertEquals(expected, spread("hash"));
        assertTrue(expected.values().stream().allMatch(l -> !l.isEmpty()), "30 keys reach every member: " + expected);
    }

    @Test
    void statsCountEachUserOnceAndEachMemberItsCopies() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/api/stats"))
                .header("Authorization", auth("root")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode stats = JSON.readTree(r.body());
        assertEquals(POLICIES.size() * FILES * SIZE, stats.at("/transferred/bytesIn").asLong());
        assertEquals(POLICIES.size() * FILES, stats.at("/transferred/filesIn").asLong());
        assertEquals(0, stats.at("/transferred/failedIn").asLong());
        assertEquals(POLICIES.size() * FILES / 2 * SIZE, stats.at("/transferred/byProtocol/ftp/bytesIn").asLong());
        assertEquals(POLICIES.size() * FILES * SIZE, stats.at("/stored/bytes").asLong());
        for (String p : POLICIES) {
            assertEquals(FILES * SIZE, stats.at("/stored/byUser/u-" + p + "/bytes").asLong(), p);
            List<Integer> counts = counts(p);
            for (int i = 0; i < 3; i++) {
                String member = p + "-" + "abc".charAt(i);
                assertEquals((long) counts.get(i) * SIZE, stats.at("/stored/byBackend/" + member + "/bytes").asLong(), member);
                assertEquals(counts.get(i).longValue(), stats.at("/stored/byBackend/" + member + "/objects").asLong(), member);
            }
            assertTrue(stats.at("/stored/byBackend/" + p).isMissingNode(), "no pool in byBackend: " + p);
        }
    }
}
