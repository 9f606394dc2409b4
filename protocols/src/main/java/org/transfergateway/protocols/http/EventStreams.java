package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferListener;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.meter.TransferRecord;

/**
 * The open Server-Sent Events streams of one front end ({@code GET /api/events}). Each
 * stream ticks on its own channel's event loop every {@link #TICK_MILLIS}, and at once
 * when a transfer starts or ends, sending an {@code active} event: the transfers in
 * progress its caller may see, with their speed from the shared {@link TransferRates},
 * and the transfer totals. A stream whose client does not read is not written to (the
 * tick is skipped while the channel is not writable), so nothing piles up in memory;
 * the idle timeout then closes it.
 */
final class EventStreams implements TransferListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventStreams.class);
    static final long TICK_MILLIS = 1000;

    private final TransferMeter meter;
    private final ObjectMapper json;
    private final Clock clock;
    private final TransferRates rates = new TransferRates();
    private final Set<Stream> open = ConcurrentHashMap.newKeySet();

    EventStreams(TransferMeter meter, ObjectMapper json, Clock clock) {
        this.meter = meter;
        this.json = json;
        this.clock = clock;
        meter.addListener(this);
    }

    /**
     * Starts the stream of a channel whose response head was just written; it stops when
     * the channel closes. Event loop of {@code ctx} only.
     */
    void open(ChannelHandlerContext ctx, Predicate<String> visible) {
        if (!ctx.channel().isActive()) {
            return;
        }
        Stream s = new Stream(ctx, visible);
        open.add(s);
        s.tick = ctx.executor().scheduleAtFixedRate(s::send, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
        ctx.channel().closeFuture().addListener(f -> s.stop());
    }

    /** The streams sending now. */
    int openStreams() {
        return open.size();
    }

    TransferRates rates() {
        return rates;
    }

    @Override
    public void started(Transfer transfer) {
        open.forEach(Stream::push);
    }

    @Override
    public void ended(TransferRecord record) {
        rates.forget(record.id());
        // A stream may have sampled it while it ended: whatever is no longer active goes too.
        rates.retain(meter.active().stream().map(Transfer::id).collect(java.util.stream.Collectors.toSet()));
        open.forEach(Stream::push);
    }

    @Override
    public void close() {
        meter.removeListener(this);
    }

    /** The {@code data} of one {@code active} event for the users {@code visible} admits. */
    ObjectNode render(Predicate<String> visible) {
        Statistics s = meter.statistics(visible);
        long nowNanos = System.nanoTime();
        Instant now = clock.instant();
        ObjectNode root = json.createObjectNode();
        root.put("at", now.truncatedTo(ChronoUnit.MILLIS).toString());
        ArrayNode active = root.putArray("active");
        for (Statistics.Active a : s.active()) {
            ObjectNode o = StatsHandler.active(active.addObject(), a);
            if (a.size() >= 0) {
                o.put("size", a.size());
            } else {
                o.putNull("size");
            }
            o.put("startedAt", a.startedAt().toString());
            long speed = rates.speed(a.id(), a.bytes(), a.startedAt(), nowNanos, now);
            o.put("speed", speed);
            if (a.size() >= 0 && speed > 0) {
                long left = Math.max(0, a.size() - a.bytes());
                o.put("etaSeconds", (left + speed - 1) / speed);
            } else {
                o.putNull("etaSeconds");
            }
        }
        StatsHandler.transferred(root.putObject("totals"), s);
        return root;
    }

    /** One client's stream; its fields belong to its channel's event loop. */
    private final class Stream {
        private final ChannelHandlerContext ctx;
        private final Predicate<String> visible;
        private final AtomicBoolean pushQueued = new AtomicBoolean();
        private ScheduledFuture<?> tick;
        private boolean stopped;

        Stream(ChannelHandlerContext ctx, Predicate<String> visible) {
            this.ctx = ctx;
            this.visible = visible;
        }

        /** Sends an event soon, from any thread; pushes queued meanwhile make one event. */
        void push() {
            if (pushQueued.compareAndSet(false, true)) {
                ctx.executor().execute(() -> {
                    pushQueued.set(false);
                    send();
                });
            }
        }

        void send() {
            if (stopped) {
                return;
            }
            if (!ctx.channel().isActive()) {
                stop();
                return;
            }
            if (!ctx.channel().isWritable()) {
                return; // the client reads slower than we send: skip this tick
            }
            String data;
            try {
                data = json.writeValueAsString(render(visible));
            } catch (Exception e) {
                log.error("cannot render an event of {}", ProxyHeaderHandler.client(ctx.channel()), e);
                ctx.close();
                return;
            }
            ByteBuf buf = ctx.alloc().buffer();
            buf.writeCharSequence("event: active\ndata: " + data + "\n\n", StandardCharsets.UTF_8);
            ctx.writeAndFlush(new DefaultHttpContent(buf)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        }

        void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            if (tick != null) {
                tick.cancel(false);
            }
            open.remove(this);
        }
    }
}
