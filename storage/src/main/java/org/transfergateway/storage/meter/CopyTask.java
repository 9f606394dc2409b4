package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * A pending copy as the {@link CopyQueue} holds it: one task per object and target member.
 *
 * @param id       the task's own identity, given when it was queued; a rename keeps it, an
 *                 overwrite queues new tasks under new ones
 * @param source   the copy to read, as recorded when the task was queued (or renamed)
 * @param target   the member backend the copy goes to
 * @param user     whose object it is: the copy counts for this user on {@code target}
 * @param enqueued when the commit queued it
 * @param attempts the attempts that failed so far
 */
public record CopyTask(String id, Placement source, String target, String user, Instant enqueued, int attempts) {

    public String pool() {
        return source.pool();
    }

    public String key() {
        return source.key();
    }

    /** The copy this task makes on {@code member}, once made: the source's size, the member's own time. */
    public Placement on(String member, Instant modified) {
        return new Placement(source.pool(), source.key(), member, source.size(), modified);
    }
}
