package org.transfergateway.storage.azure;

/**
 * How an upload of unknown length is cut into blocks. Pure functions, so that Azure's
 * limits (50,000 committed blocks a blob, 4,000 MiB a block) can be checked without
 * sending terabytes.
 *
 * <p>The plan: the first block size (by default {@code storage.part-size}, 8 MiB),
 * doubled after every {@value #BLOCKS_PER_DOUBLING} blocks, never above the ceiling (the
 * memory budget, at most 1 GiB a buffer). From 4 MiB with a ceiling of 64 MiB the 50,000
 * blocks hold about 2.1 TiB; from 8 MiB under a 256 MiB ceiling about 7.3 TiB.
 */
public final class BlockPlan {
    public static final long MIB = 1024L * 1024;
    public static final long TIB = 1024L * 1024 * MIB;
    /** The most blocks one blob may commit. */
    public static final int MAX_BLOCKS = 50_000;
    /** The largest block Azure accepts. */
    public static final long MAX_BLOCK_SIZE = 4000 * MIB;
    /** The block size doubles after every this many blocks. */
    public static final int BLOCKS_PER_DOUBLING = 5_000;

    private BlockPlan() {
    }

    /** The size of block {@code number} (1-based) of an upload of unknown length. */
    public static long blockSize(int number, long firstBlockSize, long ceiling) {
        if (number < 1) {
            throw new IllegalArgumentException("block numbers start at 1: " + number);
        }
        int doublings = Math.min((number - 1) / BLOCKS_PER_DOUBLING, 30);
        return Math.min(firstBlockSize << doublings, Math.min(ceiling, MAX_BLOCK_SIZE));
    }

    /** The most bytes one stream can hold under this plan: all {@value #MAX_BLOCKS} blocks full. */
    public static long capacity(long firstBlockSize, long ceiling) {
        long total = 0;
        for (int group = 0; group < MAX_BLOCKS / BLOCKS_PER_DOUBLING; group++) {
            total += BLOCKS_PER_DOUBLING * blockSize(group * BLOCKS_PER_DOUBLING + 1, firstBlockSize, ceiling);
        }
        return total;
    }
}
