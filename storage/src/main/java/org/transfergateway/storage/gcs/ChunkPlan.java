package org.transfergateway.storage.gcs;

/**
 * The chunk size of resumable uploads. Pure functions, so that Google's limits can be
 * checked without sending terabytes.
 *
 * <p>A resumable session takes any number of chunks, each but the last a multiple of
 * 256 KiB, up to an object of 5 TiB. So the size need not grow as on S3 or Azure: it is
 * the configured one rounded down to 256 KiB, at least 256 KiB, at most what the memory
 * budget can hand out in one buffer (and at most 1 GiB). An upload holds two such
 * buffers at most: the chunk in flight and the one filling.
 */
public final class ChunkPlan {
    public static final long KIB = 1024;
    /** All chunks but the last are a multiple of this. */
    public static final long GRANULARITY = 256 * KIB;
    /** The largest object GCS stores. */
    public static final long MAX_OBJECT_SIZE = 5L * 1024 * 1024 * 1024 * 1024;
    /** A buffer of the budget holds under 2 GiB; a chunk is never bigger than this. */
    public static final long MAX_CHUNK_SIZE = 1024L * 1024 * 1024;

    private ChunkPlan() {
    }

    /** The chunk size for a configured size and a budget of {@code budgetCapacity} bytes. */
    public static int chunkSize(long configured, long budgetCapacity) {
        long ceiling = Math.min(budgetCapacity, MAX_CHUNK_SIZE) / GRANULARITY * GRANULARITY;
        if (ceiling < GRANULARITY) {
            throw new IllegalArgumentException("a memory budget of " + budgetCapacity
                    + " bytes cannot hold one chunk of " + GRANULARITY + " bytes");
        }
        long size = Math.max(GRANULARITY, configured / GRANULARITY * GRANULARITY);
        return (int) Math.min(size, ceiling);
    }

    /** The value of a chunk's Content-Range: {@code bytes a-b/*}, or with the total on the last. */
    static String contentRange(long offset, long length, long total) {
        String of = total < 0 ? "*" : Long.toString(total);
        return length == 0 ? "bytes */" + of : "bytes " + offset + "-" + (offset + length - 1) + "/" + of;
    }

    /**
     * The bytes a session has persisted, from the {@code Range} header of a 308 answer
     * ({@code bytes=0-N}; absent when none).
     */
    static long persisted(String rangeHeader) {
        if (rangeHeader == null || rangeHeader.isEmpty()) {
            return 0;
        }
        int dash = rangeHeader.lastIndexOf('-');
        if (!rangeHeader.startsWith("bytes=0-") || dash < 0) {
            throw new IllegalArgumentException("not a persisted range: " + rangeHeader);
        }
        return Long.parseLong(rangeHeader.substring(dash + 1).trim()) + 1;
    }
}
