/**
 * The HTTP front end on Netty: {@link org.transfergateway.protocols.http.HttpFrontEnd}
 * binds it, {@code HttpInitializer} builds each connection's pipeline and
 * {@code ConnectionHandler} hands each request to the handler that a {@code RouteTable}
 * names.
 *
 * <p>Threads. Event loops only parse, route and write; they never call storage. Every
 * storage call (authentication included, as verifying a password hash is slow) runs on
 * one bounded blocking pool. An upload's chunks go through a per-upload serial executor
 * on that pool, in order; the channel has {@code AUTO_READ} off and the next read is
 * asked for only when storage has taken every chunk handed over, so a slow backend slows
 * the client down instead of filling memory. A download is read ahead by at most two
 * 64 KiB chunks on the pool and written by {@code ChunkedWriteHandler} only while the
 * channel is writable.
 */
package org.transfergateway.protocols.http;
