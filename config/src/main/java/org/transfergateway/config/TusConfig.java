package org.transfergateway.config;

import java.time.Duration;

/**
 * Resumable uploads (tus 1.0.0), served on the HTTP listener under {@code /tus/}.
 *
 * @param enabled whether {@code /tus/} answers; it does only while HTTP is enabled too
 * @param expiry  how long an unfinished upload is kept after its creation
 */
public record TusConfig(boolean enabled, Duration expiry) {
    public static final TusConfig DEFAULTS = new TusConfig(true, Duration.ofHours(24));

    public TusConfig {
        if (expiry.isNegative() || expiry.isZero()) {
            throw new ConfigException("tus.expiry", expiry + " is not a positive duration");
        }
    }
}
