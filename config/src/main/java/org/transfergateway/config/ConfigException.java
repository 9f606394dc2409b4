package org.transfergateway.config;

/**
 * A configuration mistake: its message is one line that names the key (or the resource)
 * and says what is wrong with its value, ready to show to the user as it is.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String key, String reason) {
        super(key + ": " + reason);
    }
}
