package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfergateway.storage.s3.PartPlan.GIB;
import static org.transfergateway.storage.s3.PartPlan.MIB;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The part sizes of uploads and copies against the limits of S3. */
class PartPlanTest {
    private static final long TIB = 1024 * GIB;

    private static long sumOfAllParts(long first, long ceiling) {
        long sum = 0;
        for (int n = 1; n <= PartPlan.MAX_PARTS; n++) {
            long size = PartPlan.partSize(n, first, ceiling);
            assertTrue(size >= PartPlan.MIN_PART_SIZE, "part " + n + " is " + size + " bytes");
            assertTrue(size <= PartPlan.MAX_PART_SIZE, "part " + n + " is " + size + " bytes");
            sum += size;
        }
        return sum;
    }

    @Test
    void tenThousandGrowingPartsFromFiveMibHoldMoreThanOneTib() {
        assertTrue(sumOfAllParts(5 * MIB, PartPlan.MAX_PART_SIZE) >= TIB);
    }

    @Test
    void tenThousandPartsStillHoldOneTibWhenTheDefaultBudgetCapsThem() {
        assertTrue(sumOfAllParts(5 * MIB, 256 * MIB) >= TIB);
        assertTrue(sumOfAllParts(8 * MIB, 256 * MIB) >= TIB);
        assertTrue(sumOfAllParts(5 * MIB, MultipartPut.MAX_BUFFER_SIZE) >= TIB);
    }

    @Test
    void partSizeStartsAtTheConfiguredSizeAndDoublesEveryThousandParts() {
        assertEquals(5 * MIB, PartPlan.partSize(1, 5 * MIB, GIB));
        assertEquals(5 * MIB, PartPlan.partSize(1000, 5 * MIB, GIB));
        assertEquals(10 * MIB, PartPlan.partSize(1001, 5 * MIB, GIB));
        assertEquals(20 * MIB, PartPlan.partSize(2001, 5 * MIB, GIB));
        assertEquals(GIB, PartPlan.partSize(10_000, 5 * MIB, GIB));
        assertEquals(5 * GIB, PartPlan.partSize(10_000, 5 * GIB, Long.MAX_VALUE));
    }

    @Test
    void anAttemptToSendAPartMayTakeLongerTheBiggerThePart() {
        assertEquals(java.time.Duration.ofSeconds(10), MultipartPut.attemptTimeout(0));
        assertEquals(java.time.Duration.ofSeconds(15), MultipartPut.attemptTimeout(5 * MIB));
        assertEquals(java.time.Duration.ofSeconds(10 + 1024), MultipartPut.attemptTimeout(GIB));
    }

    @Test
    void copyOfJustOverFiveGibTakesElevenParts() {
        long size = 5 * GIB + 1;
        List<PartPlan.CopyPart> parts = PartPlan.copyParts(size);
        assertEquals(11, parts.size());
        assertEquals("bytes=0-" + (512 * MIB - 1), parts.get(0).range());
        assertEquals(new PartPlan.CopyPart(11, 5 * GIB, 5 * GIB), parts.get(10));
        assertCovers(parts, size);
    }

    @Test
    void copyOfFiveTibStaysWithinTenThousandParts() {
        long size = 5 * TIB;
        List<PartPlan.CopyPart> parts = PartPlan.copyParts(size);
        assertTrue(parts.size() <= PartPlan.MAX_PARTS, parts.size() + " parts");
        assertCovers(parts, size);
    }

    @Test
    void keptBytesAreCopiedInEqualSharesEachAtLeastTheSmallestPart() {
        assertEquals(List.of(new PartPlan.CopyPart(1, 0, 5 * MIB - 1)), PartPlan.keptParts(5 * MIB));
        assertEquals(List.of(new PartPlan.CopyPart(1, 0, 512 * MIB - 1)), PartPlan.keptParts(512 * MIB));
        assertEquals(List.of(new PartPlan.CopyPart(1, 0, GIB - 2)), PartPlan.keptParts(GIB - 1));
        // One byte over two copy parts: two shares, not a third part of one byte that new parts would follow.
        assertEquals(List.of(new PartPlan.CopyPart(1, 0, 512 * MIB), new PartPlan.CopyPart(2, 512 * MIB + 1, GIB)),
                PartPlan.keptParts(GIB + 1));
        assertEquals(List.of(new PartPlan.CopyPart(1, 0, 6 * MIB - 1), new PartPlan.CopyPart(2, 6 * MIB, 12 * MIB - 1)),
                PartPlan.keptParts(12 * MIB, 5 * MIB));
        for (long keep : new long[] {5 * MIB + 1, 12 * MIB, GIB, 5 * GIB + 1, 777 * GIB + 3, 5 * TIB, 10_000 * 5 * GIB}) {
            List<PartPlan.CopyPart> kept = PartPlan.keptParts(keep);
            assertCovers(kept, keep);
            assertTrue(kept.stream().allMatch(p -> p.size() >= PartPlan.MIN_PART_SIZE), keep + " bytes");
            assertTrue(keep > 5000 * GIB || kept.size() <= PartPlan.MAX_KEPT_PARTS, kept.size() + " parts for " + keep);
            assertCovers(PartPlan.keptParts(keep, 5 * MIB), keep);
            assertTrue(PartPlan.keptParts(keep, 5 * MIB).stream().allMatch(p -> p.size() >= PartPlan.MIN_PART_SIZE));
        }
    }

    @Test
    void afterFiveTibOfKeptPartsTheNewPartsStillHoldOneTib() {
        int kept = PartPlan.keptParts(5 * TIB).size();
        long sum = 0;
        for (int n = kept + 1; n <= PartPlan.MAX_PARTS; n++) {
            sum += PartPlan.partSize(n, 5 * MIB, 256 * MIB);
        }
        assertTrue(sum >= TIB, sum + " bytes after " + kept + " kept parts");
    }

    @Test
    void fewerKeptBytesThanTheSmallestPartCannotBeCopiedInParts() {
        assertThrows(IllegalArgumentException.class, () -> PartPlan.keptParts(5 * MIB - 1));
    }

    /** Contiguous, numbered from 1, within S3's part sizes, ending at the last byte. */
    private static void assertCovers(List<PartPlan.CopyPart> parts, long size) {
        long next = 0;
        for (int i = 0; i < parts.size(); i++) {
            PartPlan.CopyPart p = parts.get(i);
            assertEquals(i + 1, p.number());
            assertEquals(next, p.first());
            assertTrue(p.size() <= PartPlan.MAX_PART_SIZE);
            assertTrue(i == parts.size() - 1 || p.size() >= PartPlan.MIN_PART_SIZE);
            next = p.last() + 1;
        }
        assertEquals(size, next);
    }
}
