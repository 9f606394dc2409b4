package org.transfergateway.protocols.http;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * The dashboard's files, read from the classpath: our own pages under {@code ui/}, and
 * under {@code lib/uplot/} the {@code dist/} folder of the uPlot WebJar, so that no page
 * needs a CDN. A name is a plain relative path (letters, digits, {@code . _ -}, no
 * segment starting with a dot, no escapes) with a known extension; anything else is
 * "not found", which rules out climbing out of these folders. Files are cached once read,
 * with a strong ETag; a request that names the current ETag gets 304.
 */
final class StaticFiles {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*");
    private static final String UPLOT = "lib/uplot/";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "json", "application/json; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon");

    /** A file, ready to send. */
    record Asset(byte[] bytes, String type, String etag, String cacheControl) {
    }

    private final Map<String, Asset> cache = new ConcurrentHashMap<>();
    private final String uplotDist;

    StaticFiles() {
        this.uplotDist = "META-INF/resources/webjars/uplot/" + webJarVersion("uplot") + "/dist/";
    }

    /** The file of this name (relative to {@code /ui/}), or empty. */
    Optional<Asset> find(String name) {
        Asset a = cache.get(name);
        if (a != null) {
            return Optional.of(a);
        }
        if (!NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        String type = TYPES.get(name.substring(name.lastIndexOf('.') + 1));
        if (type == null) {
            return Optional.empty();
        }
        boolean library = name.startsWith(UPLOT);
        String resource = library ? uplotDist + name.substring(UPLOT.length()) : "ui/" + name;
        byte[] bytes = read(resource);
        if (bytes == null) {
            return Optional.empty(); // misses are not cached: their names are the client's choice
        }
        // Our own pages change with each release under the same name; the library's
        // name stays while its version is pinned, so a day of caching is safe.
        a = new Asset(bytes, type, etag(bytes), library ? "public, max-age=86400" : "no-cache");
        cache.put(name, a);
        return Optional.of(a);
    }

    /** Sends the file {@code name}, or 304 when the client has it, or 404. */
    void send(Exchange ex, String name) throws GatewayException {
        Asset a = find(name).orElseThrow(() -> ErrorCode.NOT_FOUND.exception("no such file: /ui/" + name));
        FullHttpResponse r;
        if (ex.request().headers().containsValue(HttpHeaderNames.IF_NONE_MATCH, a.etag(), false)) {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
        } else {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(a.bytes()));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, a.type());
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, a.bytes().length);
        }
        r.headers().set(HttpHeaderNames.ETAG, a.etag());
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, a.cacheControl());
        ex.send(r);
    }

    private static byte[] read(String resource) {
        try (InputStream in = StaticFiles.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource + " from the classpath", e);
        }
    }

    private static String etag(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 22) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The version of a WebJar on the classpath, from its Maven properties: the pom is the one place it is named. */
    private static String webJarVersion(String artifact) {
        String resource = "META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
        try (InputStream in = StaticFiles.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the " + artifact + " WebJar is not on the classpath");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
