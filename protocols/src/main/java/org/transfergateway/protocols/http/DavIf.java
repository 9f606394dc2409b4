package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code If} header of RFC 4918 section 10.4: lists of conditions (a lock's state
 * token or an entity tag, each possibly negated), optionally tagged with the resource
 * they are about. The header holds when any one list holds; a list holds when all its
 * conditions do. The tokens it names (not negated) are the lock tokens the request submits.
 */
final class DavIf {
    /** One condition: {@code token} or {@code etag} (quoted, as sent), one of them null. */
    record Condition(boolean not, String token, String etag) {
    }

    /** The conditions of one list, about {@code resource} (a URL as sent) or, when null, the request's own resource. */
    record Clause(String resource, List<Condition> conditions) {
    }

    /** What the conditions are tested against: a resource's lock tokens and entity tag. */
    interface State {
        /** The tokens of the locks on the resource named {@code resource} (null: the request's own). */
        Set<String> tokens(String resource) throws java.io.IOException;

        /** The quoted entity tag of that resource, or null. */
        String etag(String resource) throws java.io.IOException;
    }

    private final List<Clause> clauses;

    private DavIf(List<Clause> clauses) {
        this.clauses = clauses;
    }

    /** The parsed header; 400 when it does not follow the grammar. */
    static DavIf parse(String header) throws DavStatus {
        List<Clause> clauses = new ArrayList<>();
        String resource = null;
        int i = 0;
        int n = header.length();
        while (true) {
            while (i < n && Character.isWhitespace(header.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            char c = header.charAt(i);
            if (c == '<') {
                int end = header.indexOf('>', i);
                if (end < 0) {
                    throw bad(header);
                }
                resource = header.substring(i + 1, end);
                i = end + 1;
            } else if (c == '(') {
                int end = header.indexOf(')', i);
                if (end < 0) {
                    throw bad(header);
                }
                clauses.add(new Clause(resource, conditions(header.substring(i + 1, end), header)));
                i = end + 1;
            } else {
                throw bad(header);
            }
        }
        if (clauses.isEmpty()) {
            throw bad(header);
        }
        return new DavIf(clauses);
    }

    private static List<Condition> conditions(String list, String header) throws DavStatus {
        List<Condition> out = new ArrayList<>();
        int i = 0;
        int n = list.length();
        while (true) {
            while (i < n && Character.isWhitespace(list.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            boolean not = false;
            if (list.regionMatches(true, i, "Not", 0, 3)) {
                not = true;
                i += 3;
                while (i < n && Character.isWhitespace(list.charAt(i))) {
                    i++;
                }
            }
            if (i >= n) {
                throw bad(header);
            }
            char c = list.charAt(i);
            int end = list.indexOf(c == '<' ? '>' : ']', i);
            if (c != '<' && c != '[' || end < 0) {
                throw bad(header);
            }
            String inner = list.substring(i + 1, end);
            out.add(c == '<' ? new Condition(not, inner, null) : new Condition(not, null, inner));
            i = end + 1;
        }
        if (out.isEmpty()) {
            throw bad(header);
        }
        return out;
    }

    private static DavStatus bad(String header) {
        return new DavStatus(HttpResponseStatus.BAD_REQUEST, "the If header cannot be parsed: " + header);
    }

    /** The lock tokens the header submits: every state token not negated. */
    Set<String> tokens() {
        Set<String> t = new LinkedHashSet<>();
        for (Clause c : clauses) {
            for (Condition d : c.conditions()) {
                if (d.token() != null && !d.not()) {
                    t.add(d.token());
                }
            }
        }
        return t;
    }

    boolean holds(State state) throws java.io.IOException {
        for (Clause c : clauses) {
            boolean all = true;
            for (Condition d : c.conditions()) {
                boolean match = d.token() != null
                        ? state.tokens(c.resource()).contains(d.token())
                        : weakless(d.etag()).equals(weakless(state.etag(c.resource())));
                if (match == d.not()) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    private static String weakless(String etag) {
        return etag == null ? "" : etag.startsWith("W/") ? etag.substring(2) : etag;
    }
}
