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
 *
 * <p>That size is the most a block may have. Azure takes blocks of different sizes in one
 * block list, so under a contended memory budget a block is staged smaller
 * ({@link #sizeUnder}): Azure (and Azurite the more so) takes each request at its own
 * pace, and throughput follows the number of blocks in flight, which the budget bounds in
 * bytes. A smaller block uses up one of the 50,000 for fewer bytes, so it is only ever
 * chosen while the blocks left, at their planned sizes, still reach what the stream was
 * promised ({@link #promised}: 1 TiB, or the whole plan where that holds less).
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
    /** The smallest block staged under a contended budget: smaller ones cost more in requests than they gain. */
    public static final long MIN_BLOCK_SIZE = MIB;

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

    /** Bytes blocks {@code from}..{@value #MAX_BLOCKS} hold at their planned sizes. */
    static long remainingCapacity(int from, long firstBlockSize, long ceiling) {
        long total = 0;
        for (int n = Math.max(from, 1); n <= MAX_BLOCKS; ) {
            int groupEnd = Math.min(((n - 1) / BLOCKS_PER_DOUBLING + 1) * BLOCKS_PER_DOUBLING, MAX_BLOCKS);
            total += (groupEnd - n + 1) * blockSize(n, firstBlockSize, ceiling);
            n = groupEnd + 1;
        }
        return total;
    }

    /** What every stream can hold, however small its blocks were staged: 1 TiB, or the plan's capacity when less. */
    public static long promised(long firstBlockSize, long ceiling) {
        return Math.min(TIB, capacity(firstBlockSize, ceiling));
    }

    /**
     * The size of block {@code number} given the memory budget: the planned size while
     * {@code available} holds {@code concurrency + 1} blocks of it (the one being filled
     * and those in flight of one upload at full speed), else halved until it does, down to
     * {@link #MIN_BLOCK_SIZE}; never so small that the blocks left could not reach
     * {@link #promised} after {@code written} bytes.
     *
     * @param written     bytes of the stream in blocks before this one
     * @param available   bytes of the memory budget not handed out now
     * @param concurrency blocks of one upload in flight at the planned size
     */
    public static long sizeUnder(int number, long written, long firstBlockSize, long ceiling, long available, int concurrency) {
        long planned = blockSize(number, firstBlockSize, ceiling);
        long size = planned;
        long wanted = concurrency + 1L;
        while (size > MIN_BLOCK_SIZE && size * wanted > available) {
            size = Math.max(size / 2, MIN_BLOCK_SIZE);
        }
        if (size == planned) {
            return planned;
        }
        // The blocks after this one at their planned sizes must still reach the promise.
        long after = number < MAX_BLOCKS ? remainingCapacity(number + 1, firstBlockSize, ceiling) : 0;
        long promise = promised(firstBlockSize, ceiling);
        while (size < planned && written + size + after < promise) {
            size = Math.min(size * 2, planned);
        }
        return size;
    }
}
