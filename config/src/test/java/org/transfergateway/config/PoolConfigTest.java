package org.transfergateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code storage.pools} and {@code users[].folders}: SPEC section 6. */
class PoolConfigTest {
    private final ConfigLoader loader = new ConfigLoader(Map.of());

    private static final String BACKENDS = """
            storage:
              backends:
                - {name: s3-a, type: local, root: ./a}
                - {name: s3-b, type: local, root: ./b}
                - {name: s3-c, type: local, root: ./c}
                - {name: cold, type: local, root: ./cold}
            """;

    /** A config with the four backends above, the given pools (indented list items) and users. */
    private static String config(String pools, String users) {
        return BACKENDS + (pools.isEmpty() ? "" : "  pools:\n" + pools.indent(4)) + "users:\n" + users.indent(2);
    }

    private static String pool(String pool) {
        return config(pool, "- {name: alice, password: pw}");
    }

    private String error(String yaml) {
        return assertThrows(ConfigException.class, () -> loader.parse(yaml)).getMessage();
    }

    @Test
    void aFullPoolHasEveryField() {
        GatewayConfig c = loader.parse(pool("""
                - name: spread
                  backends: [s3-a, s3-b, s3-c]
                  policy: weighted
                  weights: {s3-a: 3, s3-c: 2}
                  replicas: 2
                  replication: async
                  unhealthy-after: 5
                  probe-interval: 750ms
                """));
        PoolConfig p = c.storage().pool("spread").orElseThrow();
        assertEquals("spread", p.name());
        assertEquals(List.of("s3-a", "s3-b", "s3-c"), p.backends());
        assertEquals(PoolConfig.Policy.WEIGHTED, p.policy());
        assertEquals(Map.of("s3-a", 3, "s3-b", 1, "s3-c", 2), p.weights());
        assertEquals(List.of("s3-a", "s3-b", "s3-c"), List.copyOf(p.weights().keySet()), "weights in member order");
        assertEquals(1, p.weight("s3-b"));
        assertEquals(2, p.replicas());
        assertEquals(PoolConfig.Replication.ASYNC, p.replication());
        assertEquals(5, p.unhealthyAfter());
        assertEquals(Duration.ofMillis(750), p.probeInterval());
        assertEquals(List.of(p), c.storage().pools());
    }

    @Test
    void omittedPoolKeysTakeTheirDefaults() {
        PoolConfig p = loader.parse(pool("- {name: spread, backends: [s3-b, s3-a]}")).storage().pool("spread").orElseThrow();
        assertEquals(List.of("s3-b", "s3-a"), p.backends());
        assertEquals(PoolConfig.Policy.ROUND_ROBIN, p.policy());
        assertEquals(Map.of(), p.weights());
        assertEquals(1, p.replicas());
        assertEquals(PoolConfig.Replication.SYNC, p.replication());
        assertEquals(3, p.unhealthyAfter());
        assertEquals(Duration.ofSeconds(5), p.probeInterval());
        assertEquals(p, new PoolConfig("spread", List.of("s3-b", "s3-a")));
    }

    @Test
    void weightedWithoutWeightsGivesEveryMemberOne() {
        PoolConfig p = loader.parse(pool("- {name: w, backends: [s3-a, s3-b], policy: weighted}")).storage().pool("w").orElseThrow();
        assertEquals(Map.of("s3-a", 1, "s3-b", 1), p.weights());
    }

    @Test
    void everyPolicyAndReplicationIdIsAccepted() {
        for (PoolConfig.Policy policy : PoolConfig.Policy.values()) {
            PoolConfig p = loader.parse(pool("- {name: p, backends: [s3-a], policy: " + policy.id() + "}"))
                    .storage().pool("p").orElseThrow();
            assertEquals(policy, p.policy());
        }
        assertEquals(List.of("round-robin", "weighted", "hash", "least-stored", "least-outstanding", "failover"),
                java.util.Arrays.stream(PoolConfig.Policy.values()).map(PoolConfig.Policy::id).toList());
        assertEquals(PoolConfig.Replication.SYNC, PoolConfig.Replication.ofId("sync").orElseThrow());
        assertEquals(PoolConfig.Replication.ASYNC, PoolConfig.Replication.ofId("async").orElseThrow());
    }

    @Test
    void noPoolsByDefault() {
        StorageConfig s = loader.parse("users: [{name: a, password: b}]\n").storage();
        assertEquals(List.of(), s.pools());
        assertFalse(s.isPool("local"));
        assertTrue(s.hasTarget("local"));
        assertFalse(s.hasTarget("spread"));
    }

    @Test
    void poolNamesAreUniqueAndNotABackendsName() {
        assertEquals("storage.pools[1].name: p is used by two pools",
                error(pool("- {name: p, backends: [s3-a]}\n- {name: p, backends: [s3-b]}")));
        assertEquals("storage.pools[0].name: cold is a backend's name: a pool needs a name of its own",
                error(pool("- {name: cold, backends: [s3-a]}")));
        assertEquals("storage.pools[0].name: is required",
                error(pool("- {backends: [s3-a]}")));
        assertEquals("storage.pools[0].name: a b is not a name of letters, digits, '.', '_' or '-'",
                error(pool("- {name: a b, backends: [s3-a]}")));
    }

    @Test
    void membersAreExistingBackendsListedOnce() {
        assertEquals("storage.pools[0].backends: a pool needs at least one backend",
                error(pool("- {name: p, backends: []}")));
        assertEquals("storage.pools[0].backends: a pool needs at least one backend",
                error(pool("- {name: p}")));
        assertEquals("storage.pools[0].backends[1]: tape is not a configured backend",
                error(pool("- {name: p, backends: [s3-a, tape]}")));
        assertEquals("storage.pools[0].backends[2]: s3-a is listed twice",
                error(pool("- {name: p, backends: [s3-a, s3-b, s3-a]}")));
        assertEquals("storage.pools[0].backends[0]: q is a pool: the members of a pool are backends",
                error(pool("- {name: p, backends: [q]}\n- {name: q, backends: [s3-a]}")));
        assertEquals("storage.pools[0].backends: must be a list",
                error(pool("- {name: p, backends: s3-a}")));
        assertEquals("storage.pools[0].backends[0]: must be a single value, not a list",
                error(pool("- {name: p, backends: [[s3-a]]}")));
    }

    @Test
    void weightsOnlyWithTheWeightedPolicyOnMembersAndPositive() {
        assertEquals("storage.pools[0].weights: is only for policy: weighted, not round-robin",
                error(pool("- {name: p, backends: [s3-a], weights: {s3-a: 2}}")));
        assertEquals("storage.pools[0].weights: is only for policy: weighted, not hash",
                error(pool("- {name: p, backends: [s3-a], policy: hash, weights: {s3-a: 2}}")));
        assertEquals("storage.pools[0].weights.cold: cold is not a backend of this pool (s3-a, s3-b)",
                error(pool("- {name: p, backends: [s3-a, s3-b], policy: weighted, weights: {cold: 2}}")));
        assertEquals("storage.pools[0].weights.s3-a: 0 is not a positive whole number",
                error(pool("- {name: p, backends: [s3-a], policy: weighted, weights: {s3-a: 0}}")));
        assertEquals("storage.pools[0].weights.s3-a: -2 is not a positive whole number",
                error(pool("- {name: p, backends: [s3-a], policy: weighted, weights: {s3-a: -2}}")));
        assertEquals("storage.pools[0].weights.s3-a: 1.5 is not a positive whole number",
                error(pool("- {name: p, backends: [s3-a], policy: weighted, weights: {s3-a: 1.5}}")));
        assertEquals("storage.pools[0].weights: must be a mapping of keys to values",
                error(pool("- {name: p, backends: [s3-a], policy: weighted, weights: [3]}")));
    }

    @Test
    void replicasFitTheMembers() {
        assertEquals("storage.pools[0].replicas: 3 is outside 1-2: each copy goes to a different backend of the pool",
                error(pool("- {name: p, backends: [s3-a, s3-b], replicas: 3}")));
        assertEquals("storage.pools[0].replicas: 0 is outside 1-2: each copy goes to a different backend of the pool",
                error(pool("- {name: p, backends: [s3-a, s3-b], replicas: 0}")));
        assertEquals("storage.pools[0].replicas: two is not a whole number",
                error(pool("- {name: p, backends: [s3-a, s3-b], replicas: two}")));
    }

    @Test
    void unknownPolicyOrReplicationListsTheValidOnes() {
        assertEquals("storage.pools[0].policy: random is not a policy "
                        + "(round-robin, weighted, hash, least-stored, least-outstanding or failover)",
                error(pool("- {name: p, backends: [s3-a], policy: random}")));
        assertEquals("storage.pools[0].replication: eventually is not sync or async",
                error(pool("- {name: p, backends: [s3-a], replication: eventually}")));
    }

    @Test
    void healthSettingsArePositive() {
        assertEquals("storage.pools[0].unhealthy-after: 0 is less than 1 failure",
                error(pool("- {name: p, backends: [s3-a], unhealthy-after: 0}")));
        assertEquals("storage.pools[0].probe-interval: must be longer than 0",
                error(pool("- {name: p, backends: [s3-a], probe-interval: 0s}")));
        assertEquals("storage.pools[0].probe-interval: often is not a duration such as 30s or 5m",
                error(pool("- {name: p, backends: [s3-a], probe-interval: often}")));
    }

    @Test
    void unknownPoolKeyIsRefused() {
        assertEquals("storage.pools[0].replica: is not a known key",
                error(pool("- {name: p, backends: [s3-a], replica: 1}")));
    }

    @Test
    void aUserAndItsFoldersMayNameAPool() {
        GatewayConfig c = loader.parse(config("- {name: spread, backends: [s3-a, s3-b]}\n- {name: safe, backends: [s3-c, cold], replicas: 2}", """
                - name: alice
                  password: pw
                  backend: spread
                  folders:
                    - {path: /archive, backend: cold}
                    - {path: /archive/keep, backend: safe}
                """));
        StorageConfig s = c.storage();
        assertTrue(s.isPool("spread"));
        assertFalse(s.isPool("cold"));
        assertTrue(s.hasTarget("spread"));
        assertTrue(s.hasTarget("cold"));
        assertTrue(s.backend("spread").isEmpty());
        UserConfig alice = c.user("alice").orElseThrow();
        assertEquals("spread", alice.backend());
        assertEquals(List.of(new FolderRule("/archive", "cold"), new FolderRule("/archive/keep", "safe")), alice.folders());
        assertEquals("spread", alice.backendFor("/a.bin"));
        assertEquals("spread", alice.backendFor("/archived/x"));
        assertEquals("cold", alice.backendFor("/archive"));
        assertEquals("cold", alice.backendFor("/archive/2024/x.csv"));
        assertEquals("safe", alice.backendFor("/archive/keep/x.csv"), "the longest prefix wins");
        assertEquals(List.of(), loader.parse(pool("")).user("alice").orElseThrow().folders());
    }

    @Test
    void folderPathsAreNormalizedAbsoluteAndUnique() {
        String bad = " is not an absolute path without ., .., // or a trailing /";
        for (String path : List.of("archive", "/archive/", "/a//b", "/a/./b", "/a/../b", "/..", "/a/.")) {
            assertEquals("users[0].folders[0].path: " + path + bad,
                    error(config("", "- {name: a, password: b, folders: [{path: \"" + path + "\", backend: cold}]}")), path);
        }
        assertEquals("users[0].folders[0].path: / is the whole home, whose backend is the user's backend",
                error(config("", "- {name: a, password: b, folders: [{path: /, backend: cold}]}")));
        assertEquals("users[0].folders[1].path: /x has two rules",
                error(config("", "- {name: a, password: b, folders: [{path: /x, backend: cold}, {path: /x, backend: s3-a}]}")));
        assertEquals("users[0].folders[0].path: is required",
                error(config("", "- {name: a, password: b, folders: [{backend: cold}]}")));
    }

    @Test
    void folderBackendMustExist() {
        assertEquals("users[0].folders[0].backend: tape is not a configured backend or pool",
                error(config("", "- {name: a, password: b, folders: [{path: /x, backend: tape}]}")));
        assertEquals("users[0].folders[0].backend: is required",
                error(config("", "- {name: a, password: b, folders: [{path: /x}]}")));
        assertEquals("users[0].folders[0].dir: is not a known key",
                error(config("", "- {name: a, password: b, folders: [{path: /x, backend: cold, dir: y}]}")));
        assertEquals("users[0].backend: tape is not a configured backend or pool",
                error(config("", "- {name: a, password: b, backend: tape}")));
    }
}
