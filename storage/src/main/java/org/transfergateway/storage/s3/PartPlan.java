package org.transfergateway.storage.s3;

import java.util.ArrayList;
import java.util.List;

/**
 * How objects are cut into parts: the growing part sizes of an upload of unknown length
 * and the byte ranges of a multipart copy. Pure functions, so the limits of S3 (10,000
 * parts, 5 MiB to 5 GiB each, 5 TiB an object) can be checked without sending terabytes.
 */
public final class PartPlan {
    public static final long MIB = 1024L * 1024;
    public static final long GIB = 1024L * MIB;
    /** S3's smallest part, the last part excepted. */
    public static final long MIN_PART_SIZE = 5 * MIB;
    /** S3's largest part, and the largest object that one PutObject or CopyObject takes. */
    public static final long MAX_PART_SIZE = 5 * GIB;
    public static final int MAX_PARTS = 10_000;
    /** The part size doubles after every this many parts. */
    public static final int PARTS_PER_DOUBLING = 1_000;
    /** Parts of a multipart copy: large, since the copy happens inside the service. */
    public static final long COPY_PART_SIZE = 512 * MIB;
    /**
     * The most parts the kept bytes of a continued upload take (about 5 TB at 5 GiB), so
     * that the new bytes after them still have over 9,000 parts.
     */
    public static final int MAX_KEPT_PARTS = 1_000;

    private PartPlan() {
    }

    /**
     * The size of part {@code partNumber} (1-based) of an upload whose length is not
     * known in advance: {@code firstPartSize}, doubled after every
     * {@value #PARTS_PER_DOUBLING} parts, never above {@code ceiling}. Starting at 5 MiB
     * the 10,000 parts hold almost 5 TiB; the ceiling (the memory budget, at most 5 GiB)
     * lowers that, to about 1.3 TiB with a 256 MiB budget.
     */
    public static long partSize(int partNumber, long firstPartSize, long ceiling) {
        if (partNumber < 1) {
            throw new IllegalArgumentException("part numbers start at 1: " + partNumber);
        }
        int doublings = Math.min((partNumber - 1) / PARTS_PER_DOUBLING, 30);
        long size = firstPartSize << doublings;
        return Math.min(size, Math.min(ceiling, MAX_PART_SIZE));
    }

    /** One part of a multipart copy: the bytes {@code [first, last]} of the source. */
    public record CopyPart(int number, long first, long last) {
        /** The value of the {@code x-amz-copy-source-range} header. */
        public String range() {
            return "bytes=" + first + "-" + last;
        }

        public long size() {
            return last - first + 1;
        }
    }

    /**
     * The parts of a multipart copy of an object of {@code size} bytes: {@value #COPY_PART_SIZE}
     * bytes each, or more when that would need over 10,000 parts; the last takes the rest.
     */
    public static List<CopyPart> copyParts(long size) {
        if (size <= 0 || size > MAX_PARTS * MAX_PART_SIZE) {
            throw new IllegalArgumentException("cannot copy an object of " + size + " bytes in parts");
        }
        long partSize = Math.max(COPY_PART_SIZE, (size + MAX_PARTS - 1) / MAX_PARTS);
        List<CopyPart> parts = new ArrayList<>();
        for (long first = 0; first < size; first += partSize) {
            parts.add(new CopyPart(parts.size() + 1, first, Math.min(first + partSize, size) - 1));
        }
        return parts;
    }

    /**
     * The parts that copy the first {@code keep} bytes of an object at the start of a
     * multipart upload that goes on with new bytes (an append): {@link #keptParts(long, long)}
     * of about {@value #COPY_PART_SIZE} bytes.
     */
    public static List<CopyPart> keptParts(long keep) {
        return keptParts(keep, COPY_PART_SIZE);
    }

    /**
     * The parts that copy the first {@code keep} bytes: equal shares of at least
     * {@code size} bytes (more when that would need over {@value #MAX_KEPT_PARTS} parts),
     * never over {@link #MAX_PART_SIZE}. Equal shares, not a short remainder: new parts
     * follow, so every one must reach {@link #MIN_PART_SIZE}, which each does when
     * {@code keep} does.
     */
    public static List<CopyPart> keptParts(long keep, long size) {
        if (keep < MIN_PART_SIZE || keep > MAX_PARTS * MAX_PART_SIZE) {
            throw new IllegalArgumentException("cannot keep " + keep + " bytes in copied parts");
        }
        if (size < MIN_PART_SIZE || size > MAX_PART_SIZE) {
            throw new IllegalArgumentException("not a part size: " + size);
        }
        long least = Math.max(size, ceilDiv(keep, MAX_KEPT_PARTS));
        int count = (int) Math.max(Math.max(1, keep / least), ceilDiv(keep, MAX_PART_SIZE));
        long share = keep / count;
        long longer = keep % count; // the first this many parts take one byte more
        List<CopyPart> parts = new ArrayList<>(count);
        long first = 0;
        for (int i = 0; i < count; i++) {
            long n = share + (i < longer ? 1 : 0);
            parts.add(new CopyPart(i + 1, first, first + n - 1));
            first += n;
        }
        return parts;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
