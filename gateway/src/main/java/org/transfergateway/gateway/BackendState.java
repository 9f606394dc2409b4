package org.transfergateway.gateway;

import java.util.ArrayList;
import java.util.List;
import org.transfergateway.storage.pool.Member;

/**
 * The live state of one backend, as the pools that have it as a member see it: each such
 * pool keeps a {@link Member} of its own. The backend is unhealthy when any of them says
 * so; its bytes in flight and its errors are their sums; its latency is the first's.
 *
 * <p>Only pools watch their members: a backend in no pool reports healthy, nothing in
 * flight, no latency and no errors.
 */
final class BackendState {
    /** A backend in no pool. */
    static final BackendState UNWATCHED = new BackendState(List.of());

    private final List<Member> members;

    BackendState(List<Member> members) {
        this.members = List.copyOf(members);
    }

    /** The members of both, this one's first. */
    BackendState plus(BackendState other) {
        List<Member> all = new ArrayList<>(members);
        all.addAll(other.members);
        return new BackendState(all);
    }

    boolean healthy() {
        return members.stream().allMatch(Member::healthy);
    }

    long outstandingBytes() {
        return members.stream().mapToLong(Member::outstandingBytes).sum();
    }

    long errors() {
        return members.stream().mapToLong(Member::errors).sum();
    }

    /** The latency in milliseconds at {@code quantile} (0.5, 0.99), see {@link Member#latencyMillis}; 0 when unwatched. */
    double latencyMillis(double quantile) {
        return members.isEmpty() ? 0 : members.get(0).latencyMillis(quantile);
    }
}
