/**
 * The HTTP front end on Netty: {@link org.transfergateway.protocols.http.HttpFrontEnd}
 * binds it, {@code HttpInitializer} builds each connection's pipeline and
 * {@code ConnectionHandler} hands each request to the handler that a {@code RouteTable}
 * names.
 *
 * <p>WebDAV. {@code WebDav} adds the routes under {@code /dav} (when enabled), answered
 * by the {@code Dav*} classes beside the HTTP handlers, whose streaming upload, download
 * and authentication they share; they live in this package to use those package-private
 * pieces as they are. Requests under {@code /dav} are counted as protocol {@code webdav}.
 *
 * <p>Threads. Event loops only parse, route and write; they never call storage. Every
 * storage call (authentication included, as verifying a password hash is slow) runs on
 * one bounded blocking pool. An upload's chunks go through a per-upload serial executor
 * on that pool, in order; the channel has {@code AUTO_READ} off and the next read is
 * asked for only when storage has taken every chunk handed over, so a slow backend slows
 * the client down instead of filling memory. A download is read ahead by at most three
 * 256 KiB chunks on the pool (the first one 64 KiB; a task reads until three wait, and
 * starts again when one is left) and written by {@code ChunkedWriteHandler} only while
 * the channel is writable.
 *
 * <p>Hostile input. Before a request reaches the {@code ConnectionHandler}, a shared
 * {@code ConnectionLimiter} turns away connections over the configured limits as they are
 * accepted; the {@code StrictRequestDecoder} and the {@code RequestValidator} refuse
 * ambiguous or unsupported framing (the connection handler answers 400 or 413 and closes,
 * and nothing after the refused request is served); when a minimum transfer rate is set,
 * a {@code RateGuard} per connection checks it once a second on the event loop.
 */
package org.transfergateway.protocols.http;
