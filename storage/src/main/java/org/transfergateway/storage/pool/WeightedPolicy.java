package org.transfergateway.storage.pool;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weighted}: nginx's smooth weighted round robin picks the first member, then the other
 * healthy members follow by weight, heaviest first (equal weights in config order).
 *
 * <p>Each healthy member's current weight grows by its weight at every pick; the member with
 * the largest current weight (the first in config order on a tie) is picked and loses the
 * total of the healthy weights. This is deterministic and interleaves: weights 3:1:1 give
 * a, b, a, c, a, so every 5 picks are exactly 3/1/1, and a heavy member never takes a long
 * run. An unhealthy member's current weight is left as it was until it is back.
 */
final class WeightedPolicy implements PlacementPolicy {
    // Current weights by member name; names are unique within a pool.
    private final Map<String, long[]> current = new HashMap<>();

    @Override
    public String id() {
        return "weighted";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        List<Member> up = Orders.healthy(members);
        if (up.isEmpty()) {
            return up;
        }
        Member best = pick(up);
        List<Member> rest = new ArrayList<>(up.size());
        rest.add(best);
        List<Member> others = new ArrayList<>(up);
        others.remove(best);
        others.sort(Comparator.comparingInt(Member::weight).reversed()); // stable: ties in config order
        rest.addAll(others);
        return rest;
    }

    // A few additions per member under a lock held for nanoseconds: cheaper than lock-free
    // schemes, and the sequence stays exact under concurrent placements.
    private synchronized Member pick(List<Member> up) {
        long total = 0;
        Member best = null;
        long[] bestWeight = null;
        for (Member m : up) {
            long[] w = current.computeIfAbsent(m.name(), n -> new long[1]);
            w[0] += m.weight();
            total += m.weight();
            if (best == null || w[0] > bestWeight[0]) {
                best = m;
                bestWeight = w;
            }
        }
        bestWeight[0] -= total;
        return best;
    }
}
