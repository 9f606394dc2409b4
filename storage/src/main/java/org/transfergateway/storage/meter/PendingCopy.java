package org.transfergateway.storage.meter;

/**
 * A copy of a pool's object still to be made ({@code replication: async}): from the copy
 * {@code source} that the commit wrote, onto the member backend {@code target}.
 */
public record PendingCopy(Placement source, String target) {
}
