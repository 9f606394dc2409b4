package org.transfergateway.protocols.http;

/**
 * A request body read whole before its handler runs, on the blocking pool. The consumers
 * of small bodies (dropped, or kept as a form) share what follows the body's end.
 */
abstract class HandlerAfterBody implements BodyConsumer {
    protected final Exchange exchange;
    private final SimpleHandler handler;

    HandlerAfterBody(Exchange exchange, SimpleHandler handler) {
        this.exchange = exchange;
        this.handler = handler;
    }

    /** The body has ended: the handler runs on the blocking pool. */
    protected final void bodyEnded() {
        exchange.markBodyDone();
        exchange.services().blocking().execute(this::run);
    }

    private void run() {
        if (exchange.responded()) {
            return; // refused before the body arrived (see ConnectionHandler): the handler must not run
        }
        try {
            handler.handle(exchange);
        } catch (Exception | Error e) {
            exchange.sendError(e);
        }
    }

    @Override
    public boolean wantsRead() {
        return !exchange.bodyDone() && !exchange.responded();
    }

    @Override
    public boolean busy() {
        return exchange.bodyDone() && !exchange.responded();
    }

    @Override
    public void closed() {
        // nothing was started
    }
}
