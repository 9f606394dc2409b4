package org.transfergateway.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One mapping of the YAML tree, read key by key. It knows its own path
 * ({@code storage.backends[1]}) so that every error names the full key, substitutes
 * {@code ${NAME}} from the environment, and reports keys that nobody asked for.
 */
final class ConfigNode {
    private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private final String path;
    private final JsonNode json;
    private final Map<String, String> env;
    private final Set<String> read = new HashSet<>();

    ConfigNode(String path, JsonNode json, Map<String, String> env) {
        this.path = path;
        this.json = json;
        this.env = env;
        if (json != null && !json.isNull() && !json.isObject()) {
            throw new ConfigException(label(), "must be a mapping of keys to values");
        }
    }

    private String label() {
        return path.isEmpty() ? "(top level)" : path;
    }

    private String keyPath(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private JsonNode raw(String key) {
        read.add(key);
        if (json == null || json.isNull()) {
            return null;
        }
        JsonNode v = json.get(key);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String key) {
        return raw(key) != null;
    }

    /** A scalar with ${ENV} substituted, or null when the key is absent. */
    String string(String key) {
        JsonNode v = raw(key);
        if (v == null) {
            return null;
        }
        if (!v.isValueNode()) {
            throw new ConfigException(keyPath(key), "must be a single value, not a " + (v.isArray() ? "list" : "mapping"));
        }
        return substitute(keyPath(key), v.asText());
    }

    String string(String key, String fallback) {
        String v = string(key);
        return v == null ? fallback : v;
    }

    String requiredString(String key) {
        String v = string(key);
        if (v == null || v.isBlank()) {
            throw new ConfigException(keyPath(key), "is required");
        }
        return v;
    }

    boolean bool(String key, boolean fallback) {
        String v = string(key);
        if (v == null) {
            return fallback;
        }
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new ConfigException(keyPath(key), v + " is not true or false");
        };
    }

    int integer(String key, int fallback, int min, int max) {
        String v = string(key);
        if (v == null) {
            return fallback;
        }
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(keyPath(key), v + " is not a whole number");
        }
        if (n < min || n > max) {
            throw new ConfigException(keyPath(key), v + " is outside " + min + "-" + max);
        }
        return n;
    }

    /** A value parsed by {@code parser}, whose IllegalArgumentException becomes a ConfigException naming the key. */
    <T> T parsed(String key, T fallback, Function<String, T> parser) {
        String v = string(key);
        if (v == null) {
            return fallback;
        }
        try {
            return parser.apply(v);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(keyPath(key), e.getMessage());
        }
    }

    ConfigNode child(String key) {
        return new ConfigNode(keyPath(key), raw(key), env);
    }

    List<ConfigNode> list(String key) {
        JsonNode v = raw(key);
        List<ConfigNode> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            throw new ConfigException(keyPath(key), "must be a list");
        }
        for (int i = 0; i < v.size(); i++) {
            out.add(new ConfigNode(keyPath(key) + "[" + i + "]", v.get(i), env));
        }
        return out;
    }

    /**
     * A list of single values ({@code [a, b]}) with ${ENV} substituted, empty when the key is
     * absent; element i is named {@code key[i]} in errors.
     */
    List<String> strings(String key) {
        JsonNode v = raw(key);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            throw new ConfigException(keyPath(key), "must be a list");
        }
        for (int i = 0; i < v.size(); i++) {
            String at = keyPath(key) + "[" + i + "]";
            JsonNode e = v.get(i);
            if (e.isNull() || !e.isValueNode()) {
                throw new ConfigException(at, "must be a single value"
                        + (e.isNull() ? "" : ", not a " + (e.isArray() ? "list" : "mapping")));
            }
            out.add(substitute(at, e.asText()));
        }
        return out;
    }

    /** The keys of this mapping in the order written; none when it is absent. */
    List<String> keys() {
        List<String> out = new ArrayList<>();
        if (json != null && json.isObject()) {
            json.fieldNames().forEachRemaining(out::add);
        }
        return out;
    }

    /** Fails on the first key that was never read: a typo must not pass silently. */
    void rejectUnknownKeys() {
        if (json == null || !json.isObject()) {
            return;
        }
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!read.contains(key)) {
                throw new ConfigException(keyPath(key), "is not a known key");
            }
        }
    }

    String path(String key) {
        return keyPath(key);
    }

    private String substitute(String key, String value) {
        Matcher m = ENV_REF.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String replacement = env.get(name);
            if (replacement == null) {
                throw new ConfigException(key, "environment variable " + name + " is not set");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }
}
