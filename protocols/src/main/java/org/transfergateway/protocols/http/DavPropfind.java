package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
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
 * {@code PROPFIND}: the properties of a resource (Depth 0) or of a folder and its entries
 * (Depth 1), as a 207 Multi-Status. Depth infinity is refused with 403 and the
 * {@code propfind-finite-depth} precondition, as Apache's mod_dav does: a whole tree in
 * one answer is a denial of service waiting to happen. allprop, prop and propname.
 */
final class DavPropfind implements SimpleHandler {
    private static final DateTimeFormatter RFC_1123 = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
    private static final String SUPPORTED_LOCK = "<D:supportedlock>"
            + "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
            + "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
            + "</D:supportedlock>";

    private final WebDav dav;

    DavPropfind(WebDav dav) {
        this.dav = dav;
    }

    /** What is asked: all properties, their names only, or the listed ones ("{ns}local" -> [ns, local]). */
    private record Ask(boolean names, Map<String, String[]> props) {
        boolean all() {
            return !names && props == null;
        }
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        String path = WebDav.path(ex);
        Ask ask = ask(DavXml.parse(ex.form()));
        int depth = WebDav.depth(ex);
        if (depth < 0) {
            throw new DavStatus(HttpResponseStatus.FORBIDDEN, "propfind-finite-depth", "PROPFIND takes Depth 0 or 1");
        }
        UserFiles files = ex.caller().files();
        ObjectInfo info = files.stat(path);
        if (info == null) {
            throw new DavStatus(HttpResponseStatus.NOT_FOUND, "no such file or folder: " + path);
        }
        StringBuilder b = new StringBuilder();
        response(b, ex, path, info, ask);
        if (depth == 1 && info.folder()) {
            for (ObjectInfo e : WebDav.sorted(files.list(path))) {
                response(b, ex, WebDav.child(path, e.name()), e, ask);
            }
        }
        ex.send(WebDav.multistatus(ex, b));
    }

    private static Ask ask(Document doc) throws DavStatus {
        if (doc == null) {
            return new Ask(false, null);
        }
        Element root = doc.getDocumentElement();
        if (!DavXml.is(root, "propfind")) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the body is not a DAV:propfind");
        }
        if (DavXml.child(root, "propname") != null) {
            return new Ask(true, null);
        }
        Element prop = DavXml.child(root, "prop");
        if (prop == null) {
            if (DavXml.child(root, "allprop") == null) {
                throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "a DAV:propfind needs allprop, prop or propname");
            }
            return new Ask(false, null);
        }
        Map<String, String[]> props = new LinkedHashMap<>();
        for (Node n = prop.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                props.put(DavProperties.name(e.getNamespaceURI(), e.getLocalName()),
                        new String[] {e.getNamespaceURI(), e.getLocalName()});
            }
        }
        return new Ask(false, props);
    }

    private void response(StringBuilder b, Exchange ex, String path, ObjectInfo info, Ask ask) throws IOException {
        Map<String, String> found = live(ex.caller().name(), path, info);
        found.putAll(dav.properties.of(ex.caller().name(), path));
        b.append("<D:response><D:href>").append(DavXml.escape(DavXml.href(path, info.folder()))).append("</D:href>");
        List<String> missing = new ArrayList<>();
        StringBuilder ok = new StringBuilder();
        if (ask.all()) {
            found.values().forEach(ok::append);
        } else if (ask.names()) {
            for (String name : found.keySet()) {
                int close = name.indexOf('}');
                ok.append(DavXml.empty(name.substring(1, close), name.substring(close + 1)));
            }
        } else {
            for (var e : ask.props().entrySet()) {
                String value = found.get(e.getKey());
                if (value != null) {
                    ok.append(value);
                } else {
                    missing.add(DavXml.empty(e.getValue()[0], e.getValue()[1]));
                }
            }
        }
        if (ok.length() > 0 || missing.isEmpty()) {
            b.append("<D:propstat><D:prop>").append(ok).append("</D:prop>").append(WebDav.status(HttpResponseStatus.OK))
                    .append("</D:propstat>");
        }
        if (!missing.isEmpty()) {
            b.append("<D:propstat><D:prop>").append(String.join("", missing)).append("</D:prop>")
                    .append(WebDav.status(HttpResponseStatus.NOT_FOUND)).append("</D:propstat>");
        }
        b.append("</D:response>");
    }

    /** The live properties of a resource, "{DAV:}name" -> the property element. */
    private Map<String, String> live(String user, String path, ObjectInfo info) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put(dav("resourcetype"), info.folder() ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>");
        String name = path.equals("/") ? "" : path.substring(path.lastIndexOf('/') + 1);
        p.put(dav("displayname"), "<D:displayname>" + DavXml.escape(name) + "</D:displayname>");
        // Storage keeps no creation time: the modification time stands in for it.
        p.put(dav("creationdate"), "<D:creationdate>"
                + DateTimeFormatter.ISO_INSTANT.format(info.modified().truncatedTo(ChronoUnit.SECONDS)) + "</D:creationdate>");
        p.put(dav("getlastmodified"), "<D:getlastmodified>" + RFC_1123.format(info.modified()) + "</D:getlastmodified>");
        if (!info.folder()) {
            p.put(dav("getcontentlength"), "<D:getcontentlength>" + info.size() + "</D:getcontentlength>");
            p.put(dav("getcontenttype"), "<D:getcontenttype>application/octet-stream</D:getcontenttype>");
            p.put(dav("getetag"), "<D:getetag>" + DavXml.escape(WebDav.etag(info)) + "</D:getetag>");
        }
        p.put(dav("supportedlock"), SUPPORTED_LOCK);
        StringBuilder locks = new StringBuilder("<D:lockdiscovery>");
        dav.locks.covering(user, path).forEach(l -> locks.append(DavLocks.activeLock(l)));
        p.put(dav("lockdiscovery"), locks.append("</D:lockdiscovery>").toString());
        return p;
    }

    /** The live properties' names that PROPPATCH may not change (getlastmodified it may). */
    static boolean isProtected(String ns, String local) {
        return DavXml.DAV.equals(ns) && List.of("resourcetype", "creationdate", "getcontentlength", "getcontenttype",
                "getetag", "supportedlock", "lockdiscovery", "displayname").contains(local);
    }

    private static String dav(String local) {
        return DavProperties.name(DavXml.DAV, local);
    }
}
