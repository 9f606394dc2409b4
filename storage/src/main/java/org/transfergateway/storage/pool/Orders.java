package org.transfergateway.storage.pool;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The list work the policies share: keeping the healthy members, rotating, sorting by bytes. */
final class Orders {
    private Orders() {}

    /** The healthy members in config order; each member's health is read once. */
    static List<Member> healthy(List<Member> members) {
        List<Member> up = new ArrayList<>(members.size());
        for (Member m : members) {
            if (m.healthy()) {
                up.add(m);
            }
        }
        return up;
    }

    /** {@code list} rotated left by {@code start} modulo its size, in a new list. */
    static List<Member> rotated(List<Member> list, long start) {
        int n = list.size();
        List<Member> out = new ArrayList<>(n);
        if (n == 0) {
            return out;
        }
        int first = (int) Math.floorMod(start, (long) n);
        for (int i = 0; i < n; i++) {
            out.add(list.get((first + i) % n));
        }
        return out;
    }

    /**
     * {@code list} stably sorted by stored ({@code stored}) or outstanding bytes, ascending.
     * The values are read once before sorting: they change under our feet, and a comparator
     * that sees a member's value change mid-sort breaks the sort's contract.
     */
    static List<Member> byLeastBytes(List<Member> list, boolean stored) {
        record Snapshot(Member member, long bytes) {}
        List<Snapshot> snap = new ArrayList<>(list.size());
        for (Member m : list) {
            snap.add(new Snapshot(m, stored ? m.storedBytes() : m.outstandingBytes()));
        }
        snap.sort(Comparator.comparingLong(Snapshot::bytes)); // List.sort is stable
        List<Member> out = new ArrayList<>(snap.size());
        for (Snapshot s : snap) {
            out.add(s.member());
        }
        return out;
    }
}
