package org.transfergateway.storage.pool;

import java.util.List;

/**
 * {@code least-stored}: the healthy members by stored bytes, fewest first; equal ones stay
 * in config order. Fills a pool evenly by bytes whatever the object sizes.
 */
final class LeastStoredPolicy implements PlacementPolicy {

    @Override
    public String id() {
        return "least-stored";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        return Orders.byLeastBytes(Orders.healthy(members), true);
    }
}
