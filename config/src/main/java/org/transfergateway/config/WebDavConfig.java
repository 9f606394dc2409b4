package org.transfergateway.config;

/**
 * The WebDAV front end, served on the HTTP listener under {@code /dav/}. It is on unless
 * turned off: it adds no listener and no way in that HTTP does not already have (the same
 * users, Basic credentials and limits), and SPEC section 8 shows it enabled.
 *
 * @param enabled whether {@code /dav/} answers; it does only while HTTP is enabled too
 */
public record WebDavConfig(boolean enabled) {
    public static final WebDavConfig DEFAULTS = new WebDavConfig(true);
}
