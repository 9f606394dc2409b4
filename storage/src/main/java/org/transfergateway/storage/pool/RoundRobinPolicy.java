package org.transfergateway.storage.pool;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code round-robin}: the healthy members in config order, rotated to start one further on
 * at each placement. While the same members are healthy, n placements over n members put
 * exactly one on each.
 */
final class RoundRobinPolicy implements PlacementPolicy {
    private final AtomicLong next = new AtomicLong();

    @Override
    public String id() {
        return "round-robin";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        List<Member> up = Orders.healthy(members);
        // Counting only when someone is healthy keeps the rotation even across an outage.
        return up.isEmpty() ? up : Orders.rotated(up, next.getAndIncrement());
    }
}
