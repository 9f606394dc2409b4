package org.transfergateway.storage.gcs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The chunk size and the resumable protocol's ranges: multiples of 256 KiB, within the budget, 5 TiB at most. */
class ChunkPlanTest {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    @Test
    void theChunkIsTheConfiguredSizeRoundedDownTo256KibAndFitsTheBudget() {
        assertEquals(8 * MIB, ChunkPlan.chunkSize(8 * MIB, 256 * MIB));
        assertEquals(MIB, ChunkPlan.chunkSize(MIB + 1000, 256 * MIB));
        assertEquals(256 * KIB, ChunkPlan.chunkSize(1, 256 * MIB));
        assertEquals(64 * MIB, ChunkPlan.chunkSize(128 * MIB, 64 * MIB + 100));
        assertEquals(1024 * MIB, ChunkPlan.chunkSize(4096 * MIB, 1L << 40));
        assertThrows(IllegalArgumentException.class, () -> ChunkPlan.chunkSize(8 * MIB, 100 * KIB));
        for (long configured : new long[] {1, 300 * KIB, 5 * MIB + 7, 8 * MIB, 3000 * MIB}) {
            assertEquals(0, ChunkPlan.chunkSize(configured, 256 * MIB) % ChunkPlan.GRANULARITY, "of " + configured);
        }
    }

    /** A session has no chunk count limit: a stream of unknown length is bounded by GCS's 5 TiB only. */
    @Test
    void aStreamOfUnknownLengthMayReachFiveTebibytes() {
        assertTrue(ChunkPlan.MAX_OBJECT_SIZE >= 1L << 40);
        assertEquals(5L << 40, ChunkPlan.MAX_OBJECT_SIZE);
    }

    @Test
    void contentRangesNameTheTotalOnlyOnTheLastChunk() {
        assertEquals("bytes 0-262143/*", ChunkPlan.contentRange(0, 256 * KIB, -1));
        assertEquals("bytes 262144-262153/262154", ChunkPlan.contentRange(256 * KIB, 10, 256 * KIB + 10));
        assertEquals("bytes */0", ChunkPlan.contentRange(0, 0, 0));
        assertEquals("bytes */524288", ChunkPlan.contentRange(512 * KIB, 0, 512 * KIB));
    }

    @Test
    void thePersistedRangeOfA308IsRead() {
        assertEquals(0, ChunkPlan.persisted(null));
        assertEquals(262144, ChunkPlan.persisted("bytes=0-262143"));
        assertThrows(IllegalArgumentException.class, () -> ChunkPlan.persisted("bytes=5-9"));
    }
}
