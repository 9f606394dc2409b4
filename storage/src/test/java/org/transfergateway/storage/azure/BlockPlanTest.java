package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The block sizes: growing with the stream so that one of unknown length reaches 1 TiB
 * within Azure's 50,000 blocks, and shrinking while the memory budget is contended without
 * ever breaking that promise.
 */
class BlockPlanTest {
    private static final long MIB = BlockPlan.MIB;

    @Test
    void blocksDoubleEveryFiveThousandUpToTheCeiling() {
        assertEquals(8 * MIB, BlockPlan.blockSize(1, 8 * MIB, 256 * MIB));
        assertEquals(8 * MIB, BlockPlan.blockSize(5_000, 8 * MIB, 256 * MIB));
        assertEquals(16 * MIB, BlockPlan.blockSize(5_001, 8 * MIB, 256 * MIB));
        assertEquals(256 * MIB, BlockPlan.blockSize(50_000, 8 * MIB, 256 * MIB));
        assertEquals(64 * MIB, BlockPlan.blockSize(50_000, 4 * MIB, 64 * MIB));
        assertEquals(BlockPlan.MAX_BLOCK_SIZE, BlockPlan.blockSize(50_000, 1024 * MIB, 1L << 40));
        assertThrows(IllegalArgumentException.class, () -> BlockPlan.blockSize(0, 8 * MIB, 256 * MIB));
    }

    /** The defaults (8 MiB parts, a 256 MiB budget), a small 4 MiB first block, and the -Xmx256m budget of 128 MiB. */
    @Test
    void fiftyThousandBlocksHoldAtLeastOneTebibyte() {
        assertEquals(5_000L * (8 + 16 + 32 + 64 + 128 + 5 * 256) * MIB, BlockPlan.capacity(8 * MIB, 256 * MIB));
        assertTrue(BlockPlan.capacity(8 * MIB, 256 * MIB) >= BlockPlan.TIB);
        assertTrue(BlockPlan.capacity(4 * MIB, 64 * MIB) >= 2 * BlockPlan.TIB);
        assertTrue(BlockPlan.capacity(8 * MIB, 128 * MIB) >= BlockPlan.TIB);
        // The sum block by block agrees with the capacity.
        long sum = 0;
        for (int n = 1; n <= BlockPlan.MAX_BLOCKS; n++) {
            sum += BlockPlan.blockSize(n, 4 * MIB, 64 * MIB);
        }
        assertEquals(sum, BlockPlan.capacity(4 * MIB, 64 * MIB));
    }

    /** At -Xmx256m: 8 MiB planned blocks, a 128 MiB budget, 4 blocks in flight an upload. */
    @Test
    void aContendedBudgetGetsSmallerBlocksAndAFreeOneThePlannedSize() {
        // Room for the block being filled and 4 in flight: the planned size.
        assertEquals(8 * MIB, BlockPlan.sizeUnder(1, 0, 8 * MIB, 128 * MIB, 128 * MIB, 4));
        assertEquals(8 * MIB, BlockPlan.sizeUnder(1, 0, 8 * MIB, 128 * MIB, 40 * MIB, 4));
        // Halved until 5 of them fit what is left, down to 1 MiB.
        assertEquals(4 * MIB, BlockPlan.sizeUnder(1, 0, 8 * MIB, 128 * MIB, 39 * MIB, 4));
        assertEquals(2 * MIB, BlockPlan.sizeUnder(1, 0, 8 * MIB, 128 * MIB, 10 * MIB, 4));
        assertEquals(BlockPlan.MIN_BLOCK_SIZE, BlockPlan.sizeUnder(1, 0, 8 * MIB, 128 * MIB, 0, 4));
        // The next block, once memory is given back, is of the planned size again.
        assertEquals(8 * MIB, BlockPlan.sizeUnder(2, MIB, 8 * MIB, 128 * MIB, 100 * MIB, 4));
        // Later in the plan, from a larger planned size.
        assertEquals(16 * MIB, BlockPlan.sizeUnder(5_001, 5_000 * MIB, 8 * MIB, 128 * MIB, 80 * MIB, 4));
        assertEquals(8 * MIB, BlockPlan.sizeUnder(5_001, 5_000 * MIB, 8 * MIB, 128 * MIB, 79 * MIB, 4));
        // A planned block at or under the smallest size stays as it is.
        assertEquals(MIB, BlockPlan.sizeUnder(1, 0, MIB, 4 * MIB, 0, 2));
    }

    /** Near the end of the 50,000 blocks, only blocks of the planned size still reach 1 TiB. */
    @Test
    void noBlockIsSmallerThanThePromiseOfOneTebibyteAllows() {
        // 1,000 blocks of 128 MiB left after this one hold 125 GiB: with nothing written yet, 1 TiB needs the planned size.
        assertEquals(128 * MIB, BlockPlan.sizeUnder(49_000, 0, 8 * MIB, 128 * MIB, 0, 4));
        // With all but the last block's bytes written, the smallest block will do.
        assertEquals(MIB, BlockPlan.sizeUnder(50_000, BlockPlan.TIB - MIB, 8 * MIB, 128 * MIB, 0, 4));
        // In between: shrunk only as far as the promise allows.
        long after = BlockPlan.remainingCapacity(49_001, 8 * MIB, 128 * MIB);
        long written = BlockPlan.TIB - after - 32 * MIB;
        assertEquals(32 * MIB, BlockPlan.sizeUnder(49_000, written, 8 * MIB, 128 * MIB, 0, 4));
        assertEquals(BlockPlan.capacity(8 * MIB, 128 * MIB), BlockPlan.remainingCapacity(1, 8 * MIB, 128 * MIB));
        assertEquals(0, BlockPlan.remainingCapacity(50_001, 8 * MIB, 128 * MIB));
    }

    /**
     * A stream that meets a spent budget at every single block still holds 1 TiB in 50,000
     * blocks; where the whole plan holds less (a 16 MiB budget), nothing is ever shrunk.
     */
    @ParameterizedTest(name = "first {0} MiB, ceiling {1} MiB")
    @CsvSource({"8, 128", "8, 256", "4, 64", "8, 32", "8, 16", "1, 1024"})
    void alwaysContendedStreamsStillHoldWhatWasPromised(long first, long ceiling) {
        long written = 0;
        for (int n = 1; n <= BlockPlan.MAX_BLOCKS; n++) {
            long size = BlockPlan.sizeUnder(n, written, first * MIB, ceiling * MIB, 0, 4);
            assertTrue(size >= Math.min(BlockPlan.MIN_BLOCK_SIZE, first * MIB) && size <= BlockPlan.blockSize(n, first * MIB, ceiling * MIB));
            written += size;
        }
        assertTrue(written >= BlockPlan.promised(first * MIB, ceiling * MIB), written + " bytes");
        assertEquals(Math.min(BlockPlan.TIB, BlockPlan.capacity(first * MIB, ceiling * MIB)), BlockPlan.promised(first * MIB, ceiling * MIB));
        if (BlockPlan.capacity(first * MIB, ceiling * MIB) < BlockPlan.TIB) {
            assertEquals(BlockPlan.capacity(first * MIB, ceiling * MIB), written);
        }
    }

    @Test
    void blockIdsHaveOneLengthWhateverTheNumber() {
        assertEquals(BlockPut.blockId("0123456789abcdef", 1).length(), BlockPut.blockId("0123456789abcdef", 50_000).length());
    }
}
