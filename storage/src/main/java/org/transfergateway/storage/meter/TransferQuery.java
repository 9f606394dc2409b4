package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * Which finished transfers {@link Ledger#recent(TransferQuery)} reads, newest first (by
 * start, then by id, descending). Every filter may be null for "any".
 *
 * @param limit     at most this many
 * @param user      of this user only
 * @param protocol  through this protocol only
 * @param succeeded completed ones only (true) or failed ones only (false)
 * @param since     started at or after this
 * @param until     started before this
 * @param before    the id of a transfer: only those after it in the order (the next page
 *                  after a page that ended with it); an id the ledger does not hold as a
 *                  finished transfer gives none
 */
public record TransferQuery(int limit, String user, Protocol protocol, Boolean succeeded, Instant since,
                            Instant until, String before) {

    /** The query of {@link Ledger#recent(int, String, Instant)}. */
    public static TransferQuery of(int limit, String user, Instant since) {
        return new TransferQuery(limit, user, null, null, since, null, null);
    }

    /** True when {@code r} passes every filter but {@link #before} and {@link #limit}. */
    public boolean matches(TransferRecord r) {
        return (user == null || r.user().equals(user))
                && (protocol == null || r.protocol().equals(protocol))
                && (succeeded == null || r.succeeded() == succeeded)
                && (since == null || !r.startedAt().isBefore(since))
                && (until == null || r.startedAt().isBefore(until));
    }
}
