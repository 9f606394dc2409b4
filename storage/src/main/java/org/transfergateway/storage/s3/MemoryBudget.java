package org.transfergateway.storage.s3;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * The memory that the part buffers of all S3 uploads may hold together
 * ({@code storage.memory-budget}). One instance is shared by every S3 backend.
 *
 * <p>{@link #acquire} hands out a buffer and blocks while the budget is spent: that is
 * the backpressure that slows a writer down to what the backend takes. A buffer goes
 * back with {@link #release} once its part has been sent (or has failed). Released
 * buffers are kept for reuse; they still count against the budget, and are dropped
 * when a request of another size needs the room. The budget never allocates beyond its
 * capacity.
 *
 * <p>Thread-safe.
 */
public final class MemoryBudget {
    private final long capacityBytes;
    /** Bytes of every buffer in existence: handed out plus pooled. */
    private long allocatedBytes;
    private long inUseBytes;
    private final Deque<ByteBuffer> pool = new ArrayDeque<>();

    public MemoryBudget(long capacityBytes) {
        if (capacityBytes <= 0) {
            throw new IllegalArgumentException("a memory budget must be positive: " + capacityBytes);
        }
        this.capacityBytes = capacityBytes;
    }

    /**
     * A budget of {@code configured} bytes, or half the JVM's direct memory limit when that
     * is smaller (the limit is {@code -XX:MaxDirectMemorySize}, by default the heap size),
     * so that part buffers leave room for the network's own direct buffers.
     */
    public static MemoryBudget fitting(long configured) {
        long limit = maxDirectMemory();
        long capacity = Math.min(configured, limit / 2);
        if (capacity < configured) {
            org.slf4j.LoggerFactory.getLogger(MemoryBudget.class).warn(
                    "storage.memory-budget lowered from {} MiB to {} MiB: half of the JVM's direct memory limit"
                            + " (raise it with -XX:MaxDirectMemorySize)", configured >> 20, capacity >> 20);
        }
        return new MemoryBudget(capacity);
    }

    /** -XX:MaxDirectMemorySize, or the heap limit when it is not set (the JVM's own default). */
    static long maxDirectMemory() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            long set = Long.parseLong(bean.getVMOption("MaxDirectMemorySize").getValue());
            return set > 0 ? set : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException e) {
            return Runtime.getRuntime().maxMemory();
        }
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    /** Bytes of the buffers handed out and not yet released. */
    public synchronized long inUseBytes() {
        return inUseBytes;
    }

    /** Bytes that {@link #acquire} could hand out now without waiting. */
    public synchronized long availableBytes() {
        return capacityBytes - inUseBytes;
    }

    /**
     * A cleared direct buffer of exactly {@code size} bytes, waiting until the budget has
     * room for it.
     *
     * @throws IllegalArgumentException when {@code size} exceeds the whole budget, as it
     *                                  could never be granted
     * @throws InterruptedException     when the waiting thread is interrupted
     */
    public synchronized ByteBuffer acquire(int size) throws InterruptedException {
        if (size <= 0 || size > capacityBytes) {
            throw new IllegalArgumentException("a buffer of " + size + " bytes does not fit a budget of " + capacityBytes);
        }
        while (true) {
            ByteBuffer reused = takePooled(size);
            if (reused != null) {
                inUseBytes += size;
                return reused;
            }
            // Make room by dropping pooled buffers of other sizes, oldest first.
            while (allocatedBytes + size > capacityBytes && !pool.isEmpty()) {
                allocatedBytes -= pool.removeFirst().capacity();
            }
            if (allocatedBytes + size <= capacityBytes) {
                allocatedBytes += size;
                inUseBytes += size;
                // Off the heap: the budget is sized apart from -Xmx, and the parts never
                // compete with the heap (a 256 MiB budget must work with -Xmx256m).
                return ByteBuffer.allocateDirect(size);
            }
            wait();
        }
    }

    /** Gives back a buffer from {@link #acquire}; it must not be used afterwards. */
    public synchronized void release(ByteBuffer buffer) {
        inUseBytes -= buffer.capacity();
        buffer.clear();
        pool.addLast(buffer);
        notifyAll();
    }

    private ByteBuffer takePooled(int size) {
        for (Iterator<ByteBuffer> it = pool.iterator(); it.hasNext(); ) {
            ByteBuffer b = it.next();
            if (b.capacity() == size) {
                it.remove();
                return b;
            }
        }
        return null;
    }
}
