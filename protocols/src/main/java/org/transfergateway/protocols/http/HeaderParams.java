package org.transfergateway.protocols.http;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code ; key=value} parameters of a header such as Content-Type or
 * Content-Disposition; values may be quoted. Inside quotes only {@code \"} and
 * {@code \\} are escapes: browsers send Windows paths with bare backslashes.
 */
final class HeaderParams {
    private HeaderParams() {
    }

    /** Parameter names in lower case; the value before the first ';' is skipped. */
    static Map<String, String> parse(String header) {
        Map<String, String> params = new LinkedHashMap<>();
        int i = header.indexOf(';');
        int n = header.length();
        while (i >= 0 && i < n) {
            i++; // past ';'
            int eq = header.indexOf('=', i);
            int semi = header.indexOf(';', i);
            if (eq < 0 || (semi >= 0 && semi < eq)) {
                i = semi;
                continue;
            }
            String key = header.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            i = eq + 1;
            while (i < n && header.charAt(i) == ' ') {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && header.charAt(i) == '"') {
                i++;
                while (i < n && header.charAt(i) != '"') {
                    char c = header.charAt(i);
                    if (c == '\\' && i + 1 < n && (header.charAt(i + 1) == '"' || header.charAt(i + 1) == '\\')) {
                        c = header.charAt(++i);
                    }
                    value.append(c);
                    i++;
                }
                i = header.indexOf(';', i);
            } else {
                int stop = header.indexOf(';', i);
                value.append(header, i, stop < 0 ? n : stop);
                i = stop;
                params.put(key, value.toString().trim());
                continue;
            }
            params.put(key, value.toString());
        }
        return params;
    }
}
