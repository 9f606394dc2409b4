package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * {@code PROPPATCH}: sets and removes dead properties, in the order given and all or
 * nothing (RFC 4918 section 9.2): when one change cannot be made, none is, and the others
 * are answered 424 Failed Dependency. The live {@code getlastmodified} of a file may be
 * set where the storage keeps modification times (and {@code DAV:lastmodified} in seconds,
 * as ownCloud takes it); the other live properties are protected.
 */
final class DavProppatch implements SimpleHandler {
    private final WebDav dav;

    DavProppatch(WebDav dav) {
        this.dav = dav;
    }

    /** One change: set {@code element}, or remove the property {@code name}. */
    private record Change(String name, String ns, String local, Element element) {
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        String path = WebDav.path(ex);
        Document doc = DavXml.parse(ex.form());
        if (doc == null || !DavXml.is(doc.getDocumentElement(), "propertyupdate")) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the body must be a DAV:propertyupdate");
        }
        UserFiles files = ex.caller().files();
        ObjectInfo info = files.stat(path);
        if (info == null) {
            throw new DavStatus(HttpResponseStatus.NOT_FOUND, "no such file or folder: " + path);
        }
        dav.permit(ex, List.of(new DavLocks.Target(path, false)));
        List<Change> changes = new ArrayList<>();
        for (Node op = doc.getDocumentElement().getFirstChild(); op != null; op = op.getNextSibling()) {
            boolean set = DavXml.is(op, "set");
            if (!set && !DavXml.is(op, "remove")) {
                continue;
            }
            Element prop = DavXml.child(op, "prop");
            for (Node n = prop == null ? null : prop.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e) {
                    changes.add(new Change(DavProperties.name(e.getNamespaceURI(), e.getLocalName()),
                            e.getNamespaceURI(), e.getLocalName(), set ? e : null));
                }
            }
        }
        // Check every change before making any.
        Map<Change, HttpResponseStatus> refused = new LinkedHashMap<>();
        Instant modified = null;
        for (Change c : changes) {
            if (isTime(c)) {
                modified = c.element() == null ? null : time(c.local(), c.element().getTextContent());
                if (c.element() == null || modified == null || info.folder() || !files.keepsModified()) {
                    refused.put(c, HttpResponseStatus.CONFLICT);
                }
            } else if (DavPropfind.isProtected(c.ns(), c.local())) {
                refused.put(c, HttpResponseStatus.FORBIDDEN);
            }
        }
        StringBuilder b = new StringBuilder("<D:response><D:href>")
                .append(DavXml.escape(DavXml.href(path, info.folder()))).append("</D:href>");
        if (!refused.isEmpty()) {
            for (Change c : changes) {
                HttpResponseStatus s = refused.getOrDefault(c, HttpResponseStatus.FAILED_DEPENDENCY);
                propstat(b, c, s);
            }
            ex.send(WebDav.multistatus(ex, b.append("</D:response>")));
            return;
        }
        String user = ex.caller().name();
        Map<String, String> dead = new LinkedHashMap<>(dav.properties.of(user, path));
        for (Change c : changes) {
            if (isTime(c)) {
                continue;
            }
            if (c.element() != null) {
                dead.put(c.name(), DavXml.write(c.element()));
            } else {
                dead.remove(c.name());
            }
        }
        if (modified != null) {
            files.setModified(path, modified);
        }
        dav.properties.set(user, path, dead);
        for (Change c : changes) {
            propstat(b, c, HttpResponseStatus.OK);
        }
        ex.send(WebDav.multistatus(ex, b.append("</D:response>")));
    }

    private static void propstat(StringBuilder b, Change c, HttpResponseStatus s) {
        b.append("<D:propstat><D:prop>").append(DavXml.empty(c.ns(), c.local())).append("</D:prop>")
                .append(WebDav.status(s)).append("</D:propstat>");
    }

    /**
     * A change of the file's time: {@code getlastmodified}, or {@code lastmodified} in the
     * DAV: namespace, which ownCloud takes and rclone's webdav remote sets with
     * {@code vendor = owncloud} or {@code nextcloud}.
     */
    private static boolean isTime(Change c) {
        return DavXml.DAV.equals(c.ns()) && (c.local().equals("getlastmodified") || c.local().equals("lastmodified"));
    }

    /** {@code lastmodified}: seconds since the epoch; {@code getlastmodified}: an RFC 1123 date as it is written; or null. */
    private static Instant time(String local, String text) {
        if (local.equals("lastmodified")) {
            String t = text.trim();
            return t.matches("-?\\d+(\\.\\d+)?") ? org.transfergateway.storage.ModTimes.parseSeconds(t) : null;
        }
        try {
            return ZonedDateTime.parse(text.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
