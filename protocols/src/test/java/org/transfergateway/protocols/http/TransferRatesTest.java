package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The speed of a transfer over about the last two seconds, from samples shared by all streams. */
class TransferRatesTest {
    private static final long S = 1_000_000_000L;
    private static final Instant T0 = Instant.parse("2026-11-30T12:00:00Z");

    @Test
    void aYoungTransferIsMeasuredSinceItStarted() {
        TransferRates rates = new TransferRates();
        assertEquals(500, rates.speed("a", 500, T0, 10 * S, T0.plusSeconds(1)));
    }

    @Test
    void theSpeedFollowsTheLastTwoSecondsOnly() {
        TransferRates rates = new TransferRates();
        // 1000 B/s for 5 s, then 100 B/s.
        long bytes = 0;
        for (int i = 1; i <= 5; i++) {
            bytes += 1000;
            rates.speed("a", bytes, T0, i * S, T0.plusSeconds(i));
        }
        for (int i = 6; i <= 8; i++) {
            bytes += 100;
            rates.speed("a", bytes, T0, i * S, T0.plusSeconds(i));
        }
        assertEquals(100, rates.speed("a", bytes + 100, T0, 9 * S, T0.plusSeconds(9)));
    }

    @Test
    void aStalledTransferHasSpeedZeroAndAnEndedOneIsForgotten() {
        TransferRates rates = new TransferRates();
        rates.speed("a", 1000, T0, S, T0.plusSeconds(1));
        rates.speed("a", 1000, T0, 2 * S, T0.plusSeconds(2));
        rates.speed("a", 1000, T0, 3 * S, T0.plusSeconds(3));
        assertEquals(0, rates.speed("a", 1000, T0, 4 * S, T0.plusSeconds(4)));
        assertEquals(1, rates.tracked());
        rates.forget("a");
        assertEquals(0, rates.tracked());
    }
}
