package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.transfergateway.storage.pool.Member;

/** A backend in two pools: each pool's member counts for it. */
class BackendStateTest {

    @Test
    void aBackendInTwoPoolsIsUnhealthyWhenEitherSaysSoAndSumsTheirCounts() {
        Member first = new Member("disk", 1, 1);
        Member second = new Member("disk", 1, 1);
        BackendState state = new BackendState(List.of(first)).plus(new BackendState(List.of(second)));
        first.succeeded(2_000_000);
        second.succeeded(9_000_000);
        first.addOutstandingBytes(10);
        second.addOutstandingBytes(32);
        assertTrue(state.healthy());

        second.failed();
        assertFalse(state.healthy());
        assertEquals(1, state.errors());
        assertEquals(42, state.outstandingBytes());
        assertEquals(2.0, state.latencyMillis(0.5), "the first pool's latency");
        first.failed();
        assertEquals(2, state.errors());
    }

    @Test
    void aBackendInNoPoolIsHealthyWithNothingToReport() {
        assertTrue(BackendState.UNWATCHED.healthy());
        assertEquals(0, BackendState.UNWATCHED.outstandingBytes());
        assertEquals(0, BackendState.UNWATCHED.errors());
        assertEquals(0.0, BackendState.UNWATCHED.latencyMillis(0.99));
    }
}
