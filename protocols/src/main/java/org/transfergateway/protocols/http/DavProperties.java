package org.transfergateway.protocols.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dead properties that clients set with PROPPATCH, in memory per gateway: they last
 * until a restart, and follow their resource through COPY, MOVE and DELETE made over
 * WebDAV (a change made over FTP or HTTP does not reach them). Keyed by user and path;
 * each value is the property element as the client sent it, written back as is.
 */
final class DavProperties {
    /** "user\0path" -> "{ns}name" -> the element's XML. */
    private final Map<String, Map<String, String>> byResource = new TreeMap<>();

    static String name(String ns, String local) {
        return "{" + (ns == null ? "" : ns) + "}" + local;
    }

    private static String key(String user, String path) {
        return user + "\0" + path;
    }

    synchronized Map<String, String> of(String user, String path) {
        Map<String, String> p = byResource.get(key(user, path));
        return p == null ? Map.of() : new LinkedHashMap<>(p);
    }

    /** Replaces the properties of one resource; an empty map removes them. */
    synchronized void set(String user, String path, Map<String, String> props) {
        if (props.isEmpty()) {
            byResource.remove(key(user, path));
        } else {
            byResource.put(key(user, path), new LinkedHashMap<>(props));
        }
    }

    synchronized void delete(String user, String path) {
        byResource.keySet().removeIf(k -> within(k, user, path));
    }

    /** Copies (or with {@code move}, moves) the properties of {@code from} and below it to {@code to}. */
    synchronized void copy(String user, String from, String to, boolean move) {
        delete(user, to);
        Map<String, Map<String, String>> moved = new TreeMap<>();
        for (var i = byResource.entrySet().iterator(); i.hasNext(); ) {
            var e = i.next();
            if (!within(e.getKey(), user, from)) {
                continue;
            }
            String path = e.getKey().substring(user.length() + 1);
            String rest = path.substring(from.length());
            moved.put(key(user, (to + rest).replace("//", "/")), new LinkedHashMap<>(e.getValue()));
            if (move) {
                i.remove();
            }
        }
        byResource.putAll(moved);
    }

    private static boolean within(String key, String user, String path) {
        String prefix = key(user, path);
        return key.equals(prefix) || key.startsWith(path.equals("/") ? prefix : prefix + "/");
    }
}
