package org.transfergateway.storage.meter;

/** Told of every transfer's start and end (metrics, logs). Must be fast and never throw. */
public interface TransferListener {
    default void started(Transfer transfer) {
    }

    default void ended(TransferRecord record) {
    }
}
