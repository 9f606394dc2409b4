package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.function.Predicate;

/**
 * {@code GET /api/events}: the live transfers as Server-Sent Events, for as long as the
 * client stays (see {@link EventStreams} for the events). Who is asking comes from
 * {@link Exchange#caller()} as for every other API request; an admin sees every user,
 * anyone else only itself, and {@code ?user=} narrows an admin's view to one user.
 */
final class EventsHandler implements SimpleHandler {
    static final String CONTENT_TYPE = "text/event-stream";

    @Override
    public void handle(Exchange ex) throws Exception {
        Predicate<String> visible = Query.of(ex).visibleUsers(ex.caller());
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, CONTENT_TYPE + "; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
                // A proxy such as nginx would otherwise hold the events back.
                .set("X-Accel-Buffering", "no");
        ex.stream(head, ctx -> ex.services().events().open(ctx, visible));
    }
}
