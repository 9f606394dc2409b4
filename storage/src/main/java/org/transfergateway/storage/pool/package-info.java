/**
 * Pools of storage backends, as far as deciding goes: {@link org.transfergateway.storage.pool.Member}
 * (a backend's health, bytes and latency), {@link org.transfergateway.storage.pool.PlacementPolicy}
 * (where a new object goes) and {@link org.transfergateway.storage.pool.HealthProber} (periodic
 * probes). Nothing here talks to a backend or the ledger: the pool that wires them in does.
 */
package org.transfergateway.storage.pool;
