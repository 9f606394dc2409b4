package org.transfergateway.storage.pool;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code hash}: rendezvous (highest random weight) hashing. Each healthy member scores
 * {@code murmur3_x64_128(utf8(name) + 0x00 + utf8(key))}, first 64 bits read as unsigned (see
 * {@link Murmur3}), and the members are taken highest score first (equal scores, which
 * practically never happen, in config order).
 *
 * <p>A key's place follows from the key and the member names alone: the same in every
 * process and after a restart, with no table to keep. Taking a member out (unhealthy or
 * removed from the pool) moves only the keys whose first choice it was, each to its next
 * choice, spread over the others; the order of the remaining members for any key is
 * unchanged, so replicas move as little as the first copies. Weights are not used.
 */
final class RendezvousHashPolicy implements PlacementPolicy {

    @Override
    public String id() {
        return "hash";
    }

    @Override
    public List<Member> order(String key, List<Member> members) {
        List<Member> up = Orders.healthy(members);
        record Scored(Member member, long score) {}
        List<Scored> scored = new ArrayList<>(up.size());
        for (Member m : up) {
            scored.add(new Scored(m, score(m.name(), key)));
        }
        // Stable: equal scores keep config order.
        scored.sort((a, b) -> Long.compareUnsigned(b.score(), a.score()));
        List<Member> out = new ArrayList<>(scored.size());
        for (Scored s : scored) {
            out.add(s.member());
        }
        return out;
    }

    /** The rendezvous score of {@code key} on the member {@code name}. */
    static long score(String name, String key) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        // The 0 byte separates name and key, so ("ab", "c") and ("a", "bc") differ.
        byte[] input = new byte[n.length + 1 + k.length];
        System.arraycopy(n, 0, input, 0, n.length);
        System.arraycopy(k, 0, input, n.length + 1, k.length);
        return Murmur3.hash64(input);
    }
}
