package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The growing block sizes: a stream of unknown length reaches 1 TiB within Azure's 50,000 blocks. */
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

    @Test
    void blockIdsHaveOneLengthWhateverTheNumber() {
        assertEquals(BlockPut.blockId("0123456789abcdef", 1).length(), BlockPut.blockId("0123456789abcdef", 50_000).length());
    }
}
