package org.transfergateway.storage.meter;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * One transfer in progress, counting its bytes as they pass, so that the live view is
 * never stale. Created and ended only through {@link TransferMeter}.
 */
public final class Transfer {
    private final String id;
    private final String user;
    private final Protocol protocol;
    private final Direction direction;
    private final String path;
    private final String backend;
    private final Instant startedAt;
    private volatile long size;
    private final AtomicLong bytes = new AtomicLong();
    /** Told of every count as it happens (live metrics); set once when the transfer starts. */
    private volatile LongConsumer observer = n -> { };

    Transfer(String id, String user, Protocol protocol, Direction direction, String path, String backend, Instant startedAt) {
        this(id, user, protocol, direction, path, backend, startedAt, -1);
    }

    Transfer(String id, String user, Protocol protocol, Direction direction, String path, String backend, Instant startedAt,
             long size) {
        this.id = id;
        this.user = user;
        this.protocol = protocol;
        this.direction = direction;
        this.path = path;
        this.backend = backend;
        this.startedAt = startedAt;
        this.size = size;
    }

    /** Counts {@code n} bytes of content that passed; called on the transfer's own thread. */
    public void add(long n) {
        bytes.addAndGet(n);
        observer.accept(n);
    }

    /** Adds an observer of the byte counts; for {@link TransferListener#started} only. */
    public void observe(LongConsumer next) {
        LongConsumer previous = observer;
        observer = n -> {
            previous.accept(n);
            next.accept(n);
        };
    }

    public String id() {
        return id;
    }

    public String user() {
        return user;
    }

    public Protocol protocol() {
        return protocol;
    }

    public Direction direction() {
        return direction;
    }

    public String path() {
        return path;
    }

    public String backend() {
        return backend;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /**
     * The bytes this transfer is expected to move in all, as announced (an upload's
     * Content-Length, a download's length), or -1 when unknown.
     */
    public long size() {
        return size;
    }

    /**
     * The client announced, after the transfer began, the bytes it will move (FTP's ALLO,
     * less what a resumed upload keeps). Only the live view uses it; nothing is enforced here.
     */
    public void expect(long size) {
        this.size = size;
    }

    public long bytes() {
        return bytes.get();
    }
}
