package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/**
 * The XML of WebDAV request and response bodies, with the JDK's parsers made safe: no
 * DOCTYPE at all (so no external entities and no entity expansion), no XInclude, secure
 * processing on. Responses are written as text with the {@code D:} prefix for {@code DAV:}.
 */
final class DavXml {
    static final String DAV = "DAV:";
    static final String TYPE = "application/xml; charset=utf-8";
    static final String HEAD = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

    private DavXml() {
    }

    /** The document of a request body; null when the body is empty; 400 when it is not well-formed XML. */
    static Document parse(byte[] body) throws DavStatus {
        if (body.length == 0 || new String(body, StandardCharsets.UTF_8).isBlank()) {
            return null;
        }
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b.parse(new ByteArrayInputStream(body));
        } catch (SAXException | java.io.IOException e) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the body is not well-formed XML: " + e.getMessage());
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException("the XML parser cannot be made safe", e);
        }
    }

    /** True when {@code n} is the element {@code DAV:local}. */
    static boolean is(Node n, String local) {
        return n instanceof Element e && DAV.equals(e.getNamespaceURI()) && local.equals(e.getLocalName());
    }

    /** The first child element {@code DAV:local} of {@code parent}, or null. */
    static Element child(Node parent, String local) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (is(n, local)) {
                return (Element) n;
            }
        }
        return null;
    }

    /** An element with the namespace declarations it needs, without an XML declaration. */
    static String write(Element e) {
        try {
            Transformer t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter w = new StringWriter();
            t.transform(new DOMSource(e), new StreamResult(w));
            return w.toString();
        } catch (TransformerException x) {
            throw new IllegalStateException("cannot write a parsed element back", x);
        }
    }

    /** An empty element of the name {@code {ns}local}, declaring its namespace. */
    static String empty(String ns, String local) {
        if (ns == null || ns.isEmpty()) {
            return "<" + local + "/>";
        }
        if (DAV.equals(ns)) {
            return "<D:" + local + "/>";
        }
        return "<X:" + local + " xmlns:X=\"" + escape(ns) + "\"/>";
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** The href of a user path: {@code /dav} and the path, percent-encoded; collections end in '/'. */
    static String href(String path, boolean collection) {
        StringBuilder b = new StringBuilder(WebDav.PREFIX);
        for (byte x : path.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xFF;
            if (c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        if (collection && b.charAt(b.length() - 1) != '/') {
            b.append('/');
        }
        return b.toString();
    }
}
