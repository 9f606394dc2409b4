package org.transfergateway.storage.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The {@code hash} policy: spread, stability across instances and processes, and how few keys
 * move when a member goes. Keys come from a seeded {@link Random}, so each run checks the same
 * 10,000 keys and the tolerances cannot flake.
 */
class RendezvousHashPolicyTest {
    private static final int KEYS = 10_000;

    private static List<Member> members(String... names) {
        List<Member> list = new ArrayList<>();
        for (String name : names) {
            list.add(new Member(name, 1));
        }
        return list;
    }

    private static List<String> keys() {
        Random random = new Random(20240601);
        List<String> keys = new ArrayList<>(KEYS);
        for (int i = 0; i < KEYS; i++) {
            keys.add("user" + random.nextInt(50) + "/dir" + random.nextInt(20) + "/file-"
                    + Long.toHexString(random.nextLong()) + ".bin");
        }
        return keys;
    }

    private static List<String> names(List<Member> members) {
        return members.stream().map(Member::name).toList();
    }

    /** The first choice of every key. */
    private static Map<String, String> owners(PlacementPolicy p, List<Member> members, List<String> keys) {
        Map<String, String> owners = new HashMap<>();
        for (String key : keys) {
            owners.put(key, p.order(key, members).get(0).name());
        }
        return owners;
    }

    @Test
    void spreadsEachMemberWithin5PercentOfAThirdOver10000Keys() {
        Map<String, Integer> counts = new HashMap<>();
        owners(PlacementPolicy.of("hash"), members("s3-a", "s3-b", "s3-c"), keys())
                .values().forEach(name -> counts.merge(name, 1, Integer::sum));
        // Tolerance: ±5% of the expected 3,333, i.e. 3,167..3,500 each (about 3.5 standard
        // deviations of a fair split of 10,000).
        for (String name : List.of("s3-a", "s3-b", "s3-c")) {
            int n = counts.getOrDefault(name, 0);
            assertTrue(Math.abs(n - KEYS / 3.0) <= KEYS / 3.0 * 0.05, name + " got " + n + " of " + KEYS);
        }
    }

    @Test
    void theSameKeyGoesToTheSameMemberAcrossInstances() {
        List<String> keys = keys();
        // New policies and new member objects, as after a restart.
        PlacementPolicy first = PlacementPolicy.of("hash");
        PlacementPolicy second = PlacementPolicy.of("hash");
        List<Member> before = members("s3-a", "s3-b", "s3-c");
        List<Member> after = members("s3-a", "s3-b", "s3-c");
        for (String key : keys) {
            assertEquals(names(first.order(key, before)), names(second.order(key, after)), key);
            assertEquals(names(first.order(key, before)), names(first.order(key, before)), key);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "alice/reports/q1.csv      | s3-b s3-a s3-c",
            "bob/photo.jpg             | s3-c s3-b s3-a",
            "carol/données/✓ 日本.txt   | s3-c s3-a s3-b",
            "dave/a                    | s3-b s3-c s3-a",
            "erin/big.iso              | s3-c s3-a s3-b",
            "frank/x/y/z.tar.gz        | s3-a s3-c s3-b",
    })
    void placementsArePinnedAcrossProcessesAndReleases(String key, String expected) {
        // Objects already placed stay findable by hash only if these never change.
        List<Member> members = members("s3-a", "s3-b", "s3-c");
        assertEquals(List.of(expected.split(" ")), names(PlacementPolicy.of("hash").order(key, members)));
    }

    @Test
    void theHashIsMurmur3x64_128AsPublished() {
        // First 64 bits, as Guava's Hashing.murmur3_128().hashBytes(b).asLong() gives them.
        assertEquals(0L, Murmur3.hash64(new byte[0]));
        assertEquals(0xcbd8a7b341bd9b02L, Murmur3.hash64(utf8("hello")));
        assertEquals(0xe34bbc7bbc071b6cL, Murmur3.hash64(utf8("The quick brown fox jumps over the lazy dog")));
        assertEquals(0xb714feeaf7693b1aL, Murmur3.hash64(utf8("s3-a\0alice/reports/q1.csv")));
        assertEquals(0x5c0c00af06d1753cL, Murmur3.hash64(utf8("données/✓ 日本.txt")));
        assertEquals(0xb714feeaf7693b1aL, RendezvousHashPolicy.score("s3-a", "alice/reports/q1.csv"));
    }

    @Test
    void removingAMemberMovesOnlyTheKeysItHeld() {
        List<String> keys = keys();
        PlacementPolicy p = PlacementPolicy.of("hash");
        List<Member> abc = members("s3-a", "s3-b", "s3-c");
        Map<String, String> before = owners(p, abc, keys);
        Map<String, String> after = owners(p, List.of(abc.get(0), abc.get(2)), keys);

        int moved = 0;
        Map<String, Integer> movedTo = new HashMap<>();
        for (String key : keys) {
            if (before.get(key).equals("s3-b")) {
                moved++;
                movedTo.merge(after.get(key), 1, Integer::sum);
            } else {
                assertEquals(before.get(key), after.get(key), key);
            }
        }
        // s3-b's keys spread over both others: each gets 50% ± 10% of them.
        for (String name : List.of("s3-a", "s3-c")) {
            int n = movedTo.getOrDefault(name, 0);
            assertTrue(Math.abs(n - moved / 2.0) <= moved * 0.10, name + " took " + n + " of " + moved);
        }
    }

    @Test
    void anUnhealthyMemberMovesOnlyItsKeysAndKeepsTheOthersReplicas() {
        List<String> keys = keys();
        PlacementPolicy p = PlacementPolicy.of("hash");
        List<Member> abcd = members("s3-a", "s3-b", "s3-c", "s3-d");
        Map<String, List<String>> before = new HashMap<>();
        keys.forEach(key -> before.put(key, names(p.order(key, abcd))));

        abcd.get(1).probed(false);
        for (String key : keys) {
            // The full order is the old one without s3-b: with replicas: 2, a key keeps every
            // copy not on s3-b.
            List<String> expected = new ArrayList<>(before.get(key));
            expected.remove("s3-b");
            assertEquals(expected, names(p.order(key, abcd)), key);
        }
        abcd.get(1).probed(true);
        keys.forEach(key -> assertEquals(before.get(key), names(p.order(key, abcd)), key));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
