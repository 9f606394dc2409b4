package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.QueryStringDecoder;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/** The query parameters of the statistics endpoints, each refused with a 400 that names it. */
final class Query {
    private final Map<String, List<String>> params;

    private Query(Map<String, List<String>> params) {
        this.params = params;
    }

    static Query of(Exchange ex) {
        return new Query(new QueryStringDecoder(ex.request().uri()).parameters());
    }

    String string(String name) {
        List<String> v = params.get(name);
        return v == null || v.isEmpty() || v.get(0).isEmpty() ? null : v.get(0);
    }

    /** An ISO-8601 instant ("2026-11-27T06:00:00Z", with an offset, or a date meaning its midnight UTC). */
    Instant instant(String name) throws GatewayException {
        String v = string(name);
        if (v == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(v).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException e2) {
                throw ErrorCode.BAD_REQUEST.exception(name + "=" + v + " is not an ISO-8601 time such as 2026-11-27T06:00:00Z");
            }
        }
    }

    int integer(String name, int fallback, int min, int max) throws GatewayException {
        String v = string(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the common message below
        }
        throw ErrorCode.BAD_REQUEST.exception(name + "=" + v + " is not a number from " + min + " to " + max);
    }

    /** The user named by {@code ?user=}: any user for admins, only oneself for the others. */
    String user(Caller caller) throws GatewayException {
        String user = string("user");
        if (user != null && !caller.user().admin() && !user.equals(caller.name())) {
            throw ErrorCode.FORBIDDEN.exception("only admins read the statistics of other users");
        }
        return user != null ? user : caller.user().admin() ? null : caller.name();
    }

    Predicate<String> visibleUsers(Caller caller) throws GatewayException {
        String user = user(caller);
        return user == null ? u -> true : user::equals;
    }
}
