package org.transfergateway.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A pool of backends ({@code storage.pools[]}) that a user or a folder rule may name instead
 * of one backend: its policy places each new object on one member, or on {@code replicas}
 * different members, and skips the members that are unhealthy.
 *
 * @param name           the pool's name, distinct from every backend's and pool's
 * @param backends       the names of the member backends, in config order (the order
 *                       {@link Policy#FAILOVER} tries them in); never a pool
 * @param policy         how a member is chosen for a new object
 * @param weights        for {@link Policy#WEIGHTED} each member's weight (1 unless given),
 *                       in member order; empty for every other policy
 * @param replicas       copies of each object, each on a different member: 1 to the number of members
 * @param replication    whether an upload waits for every copy or only for the first
 * @param unhealthyAfter consecutive failures after which a member counts as unhealthy
 * @param probeInterval  how often members are probed, which is how an unhealthy one comes back
 */
public record PoolConfig(
        String name,
        List<String> backends,
        Policy policy,
        Map<String, Integer> weights,
        int replicas,
        Replication replication,
        int unhealthyAfter,
        Duration probeInterval) {

    public static final Policy DEFAULT_POLICY = Policy.ROUND_ROBIN;
    public static final int DEFAULT_REPLICAS = 1;
    public static final Replication DEFAULT_REPLICATION = Replication.SYNC;
    public static final int DEFAULT_UNHEALTHY_AFTER = 3;
    public static final Duration DEFAULT_PROBE_INTERVAL = Duration.ofSeconds(5);

    /** How a pool picks the member for a new object; the YAML names each by its {@link #id()}. */
    public enum Policy {
        /** Each member in turn. */
        ROUND_ROBIN("round-robin"),
        /** In proportion to the members' {@code weights}. */
        WEIGHTED("weighted"),
        /** By rendezvous hashing of the key: the same key always goes to the same members. */
        HASH("hash"),
        /** The member with the fewest stored bytes. */
        LEAST_STORED("least-stored"),
        /** The member with the fewest bytes in flight. */
        LEAST_OUTSTANDING("least-outstanding"),
        /** The first healthy member in config order. */
        FAILOVER("failover");

        private final String id;

        Policy(String id) {
            this.id = id;
        }

        /** The value of {@code policy} in the YAML, e.g. {@code least-stored}. */
        public String id() {
            return id;
        }

        public static Optional<Policy> ofId(String id) {
            return Arrays.stream(values()).filter(p -> p.id.equals(id)).findFirst();
        }
    }

    /** When an upload to a pool with several replicas is confirmed to the client. */
    public enum Replication {
        /** Once every copy is stored. */
        SYNC("sync"),
        /** Once the first copy is stored; the others follow from a durable queue. */
        ASYNC("async");

        private final String id;

        Replication(String id) {
            this.id = id;
        }

        /** The value of {@code replication} in the YAML. */
        public String id() {
            return id;
        }

        public static Optional<Replication> ofId(String id) {
            return Arrays.stream(values()).filter(r -> r.id.equals(id)).findFirst();
        }
    }

    public PoolConfig {
        Objects.requireNonNull(name, "name");
        backends = List.copyOf(backends);
        Objects.requireNonNull(policy, "policy");
        weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        Objects.requireNonNull(replication, "replication");
        Objects.requireNonNull(probeInterval, "probeInterval");
    }

    /** A pool with every setting at its default. */
    public PoolConfig(String name, List<String> backends) {
        this(name, backends, DEFAULT_POLICY, Map.of(), DEFAULT_REPLICAS, DEFAULT_REPLICATION,
                DEFAULT_UNHEALTHY_AFTER, DEFAULT_PROBE_INTERVAL);
    }

    /** The weight of a member under {@link Policy#WEIGHTED}: 1 unless configured. */
    public int weight(String backend) {
        return weights.getOrDefault(backend, 1);
    }
}
