package org.transfergateway.storage.pool;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code least-outstanding}: the healthy members by bytes in flight, fewest first, so a slow
 * backend (whose transfers last longer) gets less. Equal members are taken in a rotating
 * order, so an idle pool, where every member has 0 bytes in flight, still spreads evenly.
 */
final class LeastOutstandingPolicy implements PlacementPolicy {
    private final AtomicLong next = new AtomicLong();

    @Override
    public String id() {
        return "least-outstanding";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        List<Member> up = Orders.healthy(members);
        if (up.isEmpty()) {
            return up;
        }
        // Rotate first, then sort stably: ties keep the rotated order.
        return Orders.byLeastBytes(Orders.rotated(up, next.getAndIncrement()), false);
    }
}
