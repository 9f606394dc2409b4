package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each policy over three members, 1,000 placements. The counting policies are deterministic,
 * so their shares are asserted exactly (tolerance 0); the hash policy's spread has its own
 * test in {@link RendezvousHashPolicyTest}.
 */
class PlacementPolicyTest {

    static List<String> ids() {
        return PlacementPolicy.IDS;
    }

    private static List<Member> members(String... names) {
        List<Member> list = new ArrayList<>();
        for (String name : names) {
            list.add(new Member(name, 1));
        }
        return list;
    }

    /** How often each member came first over {@code n} placements, in config order. */
    private static Map<String, Integer> firsts(PlacementPolicy policy, List<Member> members, int n) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        members.forEach(m -> counts.put(m.name(), 0));
        for (int i = 0; i < n; i++) {
            counts.merge(policy.order("k" + i, members).get(0).name(), 1, Integer::sum);
        }
        return counts;
    }

    private static List<String> names(List<Member> members) {
        return members.stream().map(Member::name).toList();
    }

    @Test
    void roundRobinPutsExactly334_333_333Over1000() {
        List<Member> abc = members("a", "b", "c");
        assertEquals(Map.of("a", 334, "b", 333, "c", 333), firsts(PlacementPolicy.of("round-robin"), abc, 1000));
    }

    @Test
    void roundRobinFallsBackToTheNextInTurn() {
        PlacementPolicy p = PlacementPolicy.of("round-robin");
        List<Member> abc = members("a", "b", "c");
        assertEquals(List.of("a", "b", "c"), names(p.order("k", abc)));
        assertEquals(List.of("b", "c", "a"), names(p.order("k", abc)));
        assertEquals(List.of("c", "a", "b"), names(p.order("k", abc)));
    }

    @Test
    void weightedThreeOneOneGivesExactly600_200_200Over1000() {
        List<Member> abc = List.of(new Member("a", 3), new Member("b", 1), new Member("c", 1));
        assertEquals(Map.of("a", 600, "b", 200, "c", 200), firsts(PlacementPolicy.of("weighted"), abc, 1000));
    }

    @Test
    void weightedInterleavesSmoothlyThenOrdersTheRestByWeight() {
        PlacementPolicy p = PlacementPolicy.of("weighted");
        List<Member> abc = List.of(new Member("a", 1), new Member("b", 3), new Member("c", 2));
        List<String> firsts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            List<Member> order = p.order("k", abc);
            firsts.add(order.get(0).name());
            List<Member> rest = order.subList(1, order.size());
            assertEquals(rest.stream().sorted(Comparator.comparingInt(Member::weight).reversed()).toList(), rest);
        }
        // nginx's sequence for weights 1:3:2 (b 3, c 2, a 1 in each 6, never a long run of b)
        assertEquals(List.of("b", "c", "a", "b", "c", "b"), firsts);
    }

    @Test
    void weightedKeepsTheRatioOfTheHealthyOnes_exactly750_250() {
        List<Member> abc = List.of(new Member("a", 3), new Member("b", 1), new Member("c", 1));
        abc.get(2).probed(false);
        Map<String, Integer> counts = firsts(PlacementPolicy.of("weighted"), abc, 1000);
        assertEquals(Map.of("a", 750, "b", 250, "c", 0), counts);
    }

    @Test
    void leastStoredAlwaysPicksTheSmallest() {
        PlacementPolicy p = PlacementPolicy.of("least-stored");
        List<Member> abc = members("a", "b", "c");
        Random random = new Random(42);
        for (int i = 0; i < 1000; i++) {
            long size = 1 + random.nextInt(10_000_000);
            List<Member> order = p.order("k" + i, abc);
            long least = abc.stream().mapToLong(Member::storedBytes).min().orElseThrow();
            assertEquals(least, order.get(0).storedBytes(), "placement " + i);
            for (int j = 1; j < order.size(); j++) {
                assertTrue(order.get(j - 1).storedBytes() <= order.get(j).storedBytes(), "fewest first");
            }
            order.get(0).addStoredBytes(size);
        }
        // Filling the least stored keeps the members within one object of each other.
        long max = abc.stream().mapToLong(Member::storedBytes).max().orElseThrow();
        long min = abc.stream().mapToLong(Member::storedBytes).min().orElseThrow();
        assertTrue(max - min <= 10_000_000, "spread " + (max - min));
    }

    @Test
    void leastStoredKeepsConfigOrderOnTies() {
        List<Member> abc = members("a", "b", "c");
        abc.get(0).setStoredBytes(5);
        assertEquals(List.of("b", "c", "a"), names(PlacementPolicy.of("least-stored").order("k", abc)));
    }

    @Test
    void leastOutstandingFollowsTheBytesInFlight() {
        PlacementPolicy p = PlacementPolicy.of("least-outstanding");
        List<Member> abc = members("a", "b", "c");
        abc.get(0).addOutstandingBytes(300);
        abc.get(1).addOutstandingBytes(100);
        abc.get(2).addOutstandingBytes(200);
        assertEquals(List.of("b", "c", "a"), names(p.order("k", abc)));

        // Transfers start on the chosen member and some end: the choice is always the least busy.
        Random random = new Random(42);
        List<long[]> inFlight = new ArrayList<>(); // {member index, bytes}
        for (int i = 0; i < 1000; i++) {
            Member first = p.order("k" + i, abc).get(0);
            long least = abc.stream().mapToLong(Member::outstandingBytes).min().orElseThrow();
            assertEquals(least, first.outstandingBytes(), "placement " + i);
            long bytes = 1 + random.nextInt(1000);
            first.addOutstandingBytes(bytes);
            inFlight.add(new long[] {abc.indexOf(first), bytes});
            if (random.nextBoolean() && !inFlight.isEmpty()) {
                long[] done = inFlight.remove(random.nextInt(inFlight.size()));
                abc.get((int) done[0]).subtractOutstandingBytes(done[1]);
            }
        }
    }

    @Test
    void leastOutstandingSpreadsAnIdlePoolExactly333Each() {
        Map<String, Integer> counts = firsts(PlacementPolicy.of("least-outstanding"), members("a", "b", "c"), 999);
        assertEquals(Map.of("a", 333, "b", 333, "c", 333), counts);
    }

    @Test
    void failoverPicksTheFirstHealthy() {
        PlacementPolicy p = PlacementPolicy.of("failover");
        List<Member> abc = members("a", "b", "c");
        assertEquals(Map.of("a", 1000, "b", 0, "c", 0), firsts(p, abc, 1000));
        abc.get(0).probed(false);
        assertEquals(List.of("b", "c"), names(p.order("k", abc)));
        abc.get(0).probed(true);
        assertEquals(List.of("a", "b", "c"), names(p.order("k", abc)));
    }

    @ParameterizedTest
    @MethodSource("ids")
    void everyPolicySkipsUnhealthyMembers(String id) {
        PlacementPolicy p = PlacementPolicy.of(id);
        List<Member> abc = members("a", "b", "c");
        abc.get(1).failed();
        abc.get(1).failed();
        abc.get(1).failed();
        for (int i = 0; i < 1000; i++) {
            List<String> order = names(p.order("k" + i, abc));
            assertEquals(2, order.size(), order.toString());
            assertFalse(order.contains("b"), order.toString());
            assertEquals(new HashSet<>(List.of("a", "c")), new HashSet<>(order));
        }
    }

    @ParameterizedTest
    @MethodSource("ids")
    void everyPolicyGivesNothingWhenNoneIsHealthy(String id) {
        List<Member> abc = members("a", "b", "c");
        abc.forEach(m -> m.probed(false));
        assertTrue(PlacementPolicy.of(id).order("k", abc).isEmpty());
        assertTrue(PlacementPolicy.of(id).order("k", List.of()).isEmpty());
    }

    @ParameterizedTest
    @MethodSource("ids")
    void everyPolicyListsEachHealthyMemberOnce(String id) {
        PlacementPolicy p = PlacementPolicy.of(id);
        assertEquals(id, p.id());
        List<Member> members = members("a", "b", "c", "d", "e");
        for (int i = 0; i < 100; i++) {
            List<String> order = names(p.order("k" + i, members));
            assertEquals(5, order.size());
            assertEquals(new HashSet<>(names(members)), new HashSet<>(order));
        }
    }

    @Test
    void anUnknownPolicyIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlacementPolicy.of("random"));
        assertTrue(e.getMessage().contains("random"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PlacementPolicy.of(null));
    }
}
