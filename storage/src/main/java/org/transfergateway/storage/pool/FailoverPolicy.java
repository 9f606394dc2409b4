package org.transfergateway.storage.pool;

import java.util.List;

/** {@code failover}: the healthy members in config order, so everything goes to the first healthy one. */
final class FailoverPolicy implements PlacementPolicy {

    @Override
    public String id() {
        return "failover";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        return Orders.healthy(members);
    }
}
