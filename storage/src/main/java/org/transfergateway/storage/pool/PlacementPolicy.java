package org.transfergateway.storage.pool;

import java.util.List;

/**
 * Where a pool puts an object: given the pool's members, the healthy ones in the order to
 * try. The first is where the object goes; with {@code replicas: N} the first N are the
 * copies, each on a different backend; the rest are fallbacks when a write fails before its
 * first byte is confirmed. Unhealthy members are left out, so the list is empty when none is
 * healthy.
 *
 * <p>A policy only places new objects: reads, listings, renames and deletes find an object's
 * copies in the ledger, whatever the policy. An instance may keep state (a rotating counter,
 * smooth weights), so each pool has its own. Implementations are thread-safe.
 */
public interface PlacementPolicy {

    /** The ids accepted by {@link #of}, as in {@code storage.pools[].policy}. */
    List<String> IDS = List.of("round-robin", "weighted", "hash", "least-stored", "least-outstanding", "failover");

    /** This policy's id, as in {@code storage.pools[].policy}. */
    String id();

    /**
     * The healthy members among {@code members} (the pool's backends in config order, names
     * unique), each once, in the order to try for the object {@code key}. A new list the
     * caller may keep.
     */
    List<Member> order(String key, List<Member> members);

    /** A new policy for one pool; throws {@link IllegalArgumentException} for an unknown id. */
    static PlacementPolicy of(String policyId) {
        if (policyId == null) {
            throw new IllegalArgumentException("policy: missing, expected one of " + IDS);
        }
        return switch (policyId) {
            case "round-robin" -> new RoundRobinPolicy();
            case "weighted" -> new WeightedPolicy();
            case "hash" -> new RendezvousHashPolicy();
            case "least-stored" -> new LeastStoredPolicy();
            case "least-outstanding" -> new LeastOutstandingPolicy();
            case "failover" -> new FailoverPolicy();
            default -> throw new IllegalArgumentException(
                    "policy: " + policyId + " is not one of " + IDS);
        };
    }
}
