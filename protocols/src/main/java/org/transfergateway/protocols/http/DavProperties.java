package org.transfergateway.protocols.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dead properties that clients set with PROPPATCH, in memory per gateway: they last
 * until a restart, and follow their resource through COPY, MOVE and DELETE made over
 * WebDAV (a change made over FTP or HTTP does not reach them). Keyed by user and path;
 * each value is the property element as the client sent it, written back as is.
 *
 * <p>Memory is bounded: beyond a number of characters in all ({@link #MAX_CHARS} in a gateway), a PROPPATCH that adds is
 * refused with 507, and a COPY copies the file without its properties.
 */
final class DavProperties {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DavProperties.class);
    /** The characters of names and values all resources may hold together. */
    static final long MAX_CHARS = 16L * 1024 * 1024;

    /** "user\0path" -> "{ns}name" -> the element's XML. */
    private final Map<String, Map<String, String>> byResource = new TreeMap<>();
    private final long maxChars;
    private long chars;

    DavProperties(long maxChars) {
        this.maxChars = maxChars;
    }

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

    /** Replaces the properties of one resource; an empty map removes them. 507 when they do not fit. */
    synchronized void set(String user, String path, Map<String, String> props) throws DavStatus {
        Map<String, String> old = byResource.get(key(user, path));
        long after = chars - size(old) + size(props);
        if (after > maxChars && size(props) > size(old)) {
            throw new DavStatus(io.netty.handler.codec.http.HttpResponseStatus.INSUFFICIENT_STORAGE,
                    "the gateway holds as many dead properties as it keeps");
        }
        chars = after;
        if (props.isEmpty()) {
            byResource.remove(key(user, path));
        } else {
            byResource.put(key(user, path), new LinkedHashMap<>(props));
        }
    }

    private static long size(Map<String, String> props) {
        long n = 0;
        if (props != null) {
            for (var e : props.entrySet()) {
                n += e.getKey().length() + e.getValue().length();
            }
        }
        return n;
    }

    synchronized void delete(String user, String path) {
        byResource.entrySet().removeIf(e -> {
            boolean gone = within(e.getKey(), user, path);
            if (gone) {
                chars -= size(e.getValue());
            }
            return gone;
        });
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
                chars -= size(e.getValue());
                i.remove();
            }
        }
        long added = 0;
        for (Map<String, String> p : moved.values()) {
            added += size(p);
        }
        if (!move && chars + added > maxChars) {
            log.warn("dead properties of {} not copied: the gateway holds as many as it keeps", from);
            return;
        }
        chars += added;
        byResource.putAll(moved);
    }

    private static boolean within(String key, String user, String path) {
        String prefix = key(user, path);
        return key.equals(prefix) || key.startsWith(path.equals("/") ? prefix : prefix + "/");
    }
}
