package org.transfergateway.storage.pool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.meter.PendingCopy;
import org.transfergateway.storage.meter.Placement;

/**
 * An upload into a pool: the same bytes go to {@code replicas} members at once, and the
 * commit returns only when every copy is confirmed (sync replication). If any copy fails
 * to commit, the copies already committed are deleted and the upload fails.
 *
 * <p>With async replication the bytes go to one member only, and the commit names the
 * other {@code replicas - 1} copies as pending ({@link ObjectInfo#pending()}), each on the
 * next member of the policy's order, healthy ones first; the ledger queues them with the
 * commit, and the {@link Replicator} makes them.
 *
 * <p>A member that fails before it has taken a byte of this upload gives way to the next
 * candidate of the policy, invisibly to the client: the chunk it failed on is still whole
 * and goes to the new member. Up to {@link #REPLAY_WINDOW} bytes the upload keeps what it
 * wrote, so a member that fails later, at its commit included, gives way too: the new
 * member gets every byte again. Past the window a member's failure fails the upload.
 */
final class PoolUpload implements JournaledUpload {
    private static final Logger log = LoggerFactory.getLogger(PoolUpload.class);

    private final PoolStorage pool;
    private final String key;
    private final long size;
    private final List<Member> candidates;
    private int nextCandidate;
    private final List<Copy> copies = new ArrayList<>();
    private UploadJournal journal;
    private long written;
    private boolean committed;
    private boolean aborted;
    /**
     * The bytes written so far while they fit in {@link #REPLAY_WINDOW}, so that a member
     * failing before it confirmed them can be replaced by another, the client none the
     * wiser; null past the window.
     */
    private List<byte[]> replay = new ArrayList<>();
    /** The bytes in {@link #replay}. */
    private long replayBytes;
    /** Uploads up to this size survive a member's failure at any point before their commit. */
    static final int REPLAY_WINDOW = 1024 * 1024;
    /** Copies of the object this one replaced on members it did not land on; removed once recorded. */
    private List<Placement> stale = List.of();

    /** One member's copy being written. */
    private static final class Copy {
        final Member member;
        final Upload upload;
        long written;

        Copy(Member member, Upload upload) {
            this.member = member;
            this.upload = upload;
        }
    }

    private PoolUpload(PoolStorage pool, String key, long size, List<Member> candidates) {
        this.pool = pool;
        this.key = key;
        this.size = size;
        this.candidates = candidates;
    }

    /** @param size the exact size announced, or -1 */
    static PoolUpload open(PoolStorage pool, String key, long size) throws IOException {
        List<Member> candidates = pool.candidates(key);
        int now = pool.async() ? 1 : pool.replicas();
        if (candidates.size() < now) {
            throw ErrorCode.BACKEND_UNAVAILABLE.exception("pool " + pool.name() + " has " + candidates.size()
                    + " healthy backends of the " + now + " its copies need");
        }
        PoolUpload u = new PoolUpload(pool, key, size, candidates);
        if (size > REPLAY_WINDOW) {
            u.replay = null; // announced past the window: nothing to keep
        }
        try {
            for (int i = 0; i < now; i++) {
                u.copies.add(u.openNext());
            }
        } catch (IOException | RuntimeException e) {
            u.abort();
            throw e;
        }
        return u;
    }

    /** Opens the upload on the next candidate that accepts it. */
    private Copy openNext() throws IOException {
        IOException failure = null;
        while (nextCandidate < candidates.size()) {
            Member m = candidates.get(nextCandidate++);
            if (!m.healthy()) {
                continue;
            }
            Storage s = pool.storage(m.name());
            try {
                // Any refusal counts against the member: the chain above has checked the request.
                long start = System.nanoTime();
                Upload up;
                try {
                    up = size >= 0 ? s.create(key, size) : s.create(key);
                } catch (IOException | RuntimeException e) {
                    m.failed();
                    throw e;
                }
                m.succeeded(System.nanoTime() - start);
                if (journal != null && up instanceof JournaledUpload j) {
                    j.journalTo(journal.on(m.name()));
                }
                return new Copy(m, up);
            } catch (IOException e) {
                failure = e;
                log.warn("pool {}: {} refused the upload of {}: {}", pool.name(), m.name(), key, e.toString());
            }
        }
        throw failure != null ? failure
                : ErrorCode.BACKEND_UNAVAILABLE.exception("pool " + pool.name() + " has no other healthy backend");
    }

    @Override
    public void journalTo(UploadJournal journal) {
        this.journal = journal;
        for (Copy c : copies) {
            if (c.upload instanceof JournaledUpload j) {
                j.journalTo(journal.on(c.member.name()));
            }
        }
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        int n = src.remaining();
        for (int i = 0; i < copies.size(); i++) {
            copies.set(i, write(copies.get(i), src.duplicate()));
        }
        keepForReplay(src.duplicate());
        src.position(src.limit());
        written += n;
    }

    /** Keeps the bytes while the upload is within the replay window; drops them for good past it. */
    private void keepForReplay(ByteBuffer chunk) {
        if (replay == null) {
            return;
        }
        if (replayBytes + chunk.remaining() > REPLAY_WINDOW) {
            replay = null;
            return;
        }
        // Each chunk copied once, at its size: no buffer that grows by copying itself.
        byte[] b = new byte[chunk.remaining()];
        chunk.get(b);
        replay.add(b);
        replayBytes += b.length;
    }

    /** Opens the next candidate and gives it every byte written so far, from the replay buffer. */
    private Copy reopen(Copy failed, IOException cause) throws IOException {
        failed.upload.abort();
        if (failed.written > 0) {
            failed.member.subtractOutstandingBytes(failed.written);
        }
        log.warn("pool {}: {} failed while taking {} ({} bytes in); moving on: {}", pool.name(), failed.member.name(),
                key, written, cause.toString());
        Copy c = openNext();
        if (replay != null) {
            for (byte[] bytes : replay) {
                c.upload.write(ByteBuffer.wrap(bytes));
                c.written += bytes.length;
                c.member.addOutstandingBytes(bytes.length);
            }
        }
        return c;
    }

    /** Writes {@code chunk} to one copy, moving the copy to another member if it fails before its first byte. */
    private Copy write(Copy c, ByteBuffer chunk) throws IOException {
        int start = chunk.position();
        int n = chunk.remaining();
        while (true) {
            try {
                c.upload.write(chunk);
                c.written += n;
                c.member.addOutstandingBytes(n);
                return c;
            } catch (org.transfergateway.storage.GatewayException e) {
                if (!PoolStorage.memberFault(e.code())) {
                    throw e;
                }
                c = failOver(c, e);
            } catch (IOException e) {
                c = failOver(c, e);
            }
            chunk.position(start);
        }
    }

    private Copy failOver(Copy c, IOException e) throws IOException {
        c.member.failed();
        if (c.written > 0 && replay == null) {
            throw e;
        }
        return reopen(c, e);
    }

    @Override
    public long written() {
        return written;
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        for (Copy c : copies) {
            if (!c.upload.takesWithoutWaiting(bytes)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public ObjectInfo commit() throws IOException {
        List<Placement> placed = new ArrayList<>();
        ObjectInfo first = null;
        List<Placement> old = placementsNow();
        try {
            for (int i = 0; i < copies.size(); i++) {
                Copy c = copies.get(i);
                ObjectInfo info;
                while (true) {
                    try {
                        info = PoolStorage.timed(c.member, c.upload::commit);
                        break;
                    } catch (IOException e) {
                        // A member that fails at the commit of an upload still in the replay window
                        // gives way to the next one, which gets the bytes again.
                        boolean fault = !(e instanceof org.transfergateway.storage.GatewayException g)
                                || PoolStorage.memberFault(g.code());
                        if (!fault || replay == null) {
                            throw e;
                        }
                        c = reopen(c, e);
                        copies.set(i, c);
                    }
                }
                c.member.subtractOutstandingBytes(c.written);
                c.written = -1;
                placed.add(new Placement(pool.name(), key, c.member.name(), info.size(), info.modified()));
                if (first == null) {
                    first = info;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Every copy or none: the ones confirmed already go again.
            for (Placement p : placed) {
                pool.dropStale(key, p.backend());
            }
            abort();
            throw e;
        }
        committed = true;
        List<Placement> leftOver = new ArrayList<>();
        for (Placement p : old) {
            if (placed.stream().noneMatch(n -> n.backend().equals(p.backend()))) {
                leftOver.add(p);
            }
        }
        stale = leftOver;
        return new ObjectInfo(key, false, first.size(), first.modified(), first.etag(), placed, pending(placed));
    }

    /**
     * The copies still to make after {@code placed} (async replication): on the members of
     * the policy's order for this upload that hold none, healthy ones first, then the pool's
     * other members. An unhealthy target is the {@link Replicator}'s to replace or wait for.
     */
    private List<PendingCopy> pending(List<Placement> placed) {
        int missing = pool.replicas() - placed.size();
        if (missing <= 0) {
            return List.of();
        }
        List<Member> order = new ArrayList<>(candidates);
        for (Member m : pool.members()) {
            if (!order.contains(m)) {
                order.add(m);
            }
        }
        order.removeIf(m -> placed.stream().anyMatch(p -> p.backend().equals(m.name())));
        // The policy's order among the healthy, then among the others; each health read once.
        List<Member> targets = new ArrayList<>();
        List<Member> down = new ArrayList<>();
        for (Member m : order) {
            (m.healthy() ? targets : down).add(m);
        }
        targets.addAll(down);
        List<PendingCopy> pending = new ArrayList<>();
        Placement source = placed.get(0);
        for (Member m : targets.subList(0, Math.min(missing, targets.size()))) {
            pending.add(new PendingCopy(source, m.name()));
        }
        return pending;
    }

    private List<Placement> placementsNow() throws IOException {
        return pool.placementsOf(key);
    }

    @Override
    public void recorded() {
        for (Placement p : stale) {
            pool.dropStale(key, p.backend());
        }
        stale = List.of();
    }

    @Override
    public void abort() {
        if (committed || aborted) {
            return;
        }
        aborted = true;
        for (Copy c : copies) {
            c.upload.abort();
            if (c.written > 0) {
                c.member.subtractOutstandingBytes(c.written);
            }
        }
    }
}
