package org.transfergateway.protocols.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ProtocolDetectionState;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The PROXY protocol header (v1 text, v2 binary) a load balancer sends first on each
 * connection, read with Netty's decoder so that every listener parses it the same way.
 * The HTTP listener puts the decoder in its pipeline and calls {@link #client}; the FTP
 * and SFTP listeners, which are not on Netty, call {@link #parse} on the bytes received
 * so far.
 */
public final class ProxyHeader {
    private ProxyHeader() {
    }

    /**
     * A complete header.
     *
     * @param length the header's bytes: what follows is the client's own traffic
     * @param client the client the balancer names; null when the connection's own peer
     *               stands (v2 LOCAL, the balancer's health checks; v1 UNKNOWN)
     */
    public record Parsed(int length, InetSocketAddress client) {
    }

    /** A connection that does not start with a valid header. */
    public static final class InvalidException extends Exception {
        public InvalidException(String message) {
            super(message);
        }
    }

    /**
     * Reads the header at the start of {@code received}, which it leaves as it is.
     *
     * @return the header, or null when the bytes so far are a valid start but not a whole header
     * @throws InvalidException when the bytes cannot start a header (a client speaking its
     *         protocol straight away fails on its first byte) or the header is malformed
     */
    public static Parsed parse(ByteBuf received) throws InvalidException {
        ProtocolDetectionState state = HAProxyMessageDecoder.detectProtocol(received).state();
        if (state == ProtocolDetectionState.INVALID || state == ProtocolDetectionState.NEEDS_MORE_DATA
                && !startsLikeHeader(received)) {
            throw new InvalidException("no PROXY header");
        }
        if (state == ProtocolDetectionState.NEEDS_MORE_DATA) {
            return null;
        }
        // A fresh decoder each time: these are the first few hundred bytes of a connection, once.
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder(true));
        try {
            decoder.writeInbound(received.retainedDuplicate());
            HAProxyMessage message = decoder.readInbound();
            if (message == null) {
                return null;
            }
            try {
                ByteBuf rest = decoder.readInbound();
                int after = rest == null ? 0 : rest.readableBytes();
                if (rest != null) {
                    rest.release();
                }
                return new Parsed(received.readableBytes() - after, client(message));
            } finally {
                message.release();
            }
        } catch (RuntimeException e) {
            // Netty's HAProxyProtocolException (a DecoderException), or any other decoding failure.
            throw new InvalidException("malformed PROXY header: " + e.getMessage());
        } finally {
            decoder.finishAndReleaseAll();
        }
    }

    /**
     * The client a decoded header names: null when the connection's own peer stands
     * (LOCAL, or a v1 UNKNOWN / v2 UNSPEC protocol).
     *
     * @throws InvalidException for a proxied protocol a TCP listener cannot have (UDP, UNIX sockets)
     */
    public static InetSocketAddress client(HAProxyMessage message) throws InvalidException {
        if (message.command() == HAProxyCommand.LOCAL || message.proxiedProtocol() == HAProxyProxiedProtocol.UNKNOWN) {
            return null;
        }
        if (message.proxiedProtocol() != HAProxyProxiedProtocol.TCP4 && message.proxiedProtocol() != HAProxyProxiedProtocol.TCP6) {
            throw new InvalidException("PROXY header for " + message.proxiedProtocol() + ", not TCP");
        }
        // The decoder checked the address is a literal: no name lookup happens here.
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(message.sourceAddress());
        if (address == null) {
            throw new InvalidException("PROXY header names no address: " + message.sourceAddress());
        }
        return new InetSocketAddress(address, message.sourcePort());
    }

    /** Whether the few bytes received so far could still become "PROXY " or the v2 signature. */
    private static boolean startsLikeHeader(ByteBuf received) {
        byte[] v1 = {'P', 'R', 'O', 'X', 'Y', ' '};
        byte[] v2 = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
        return prefixOf(received, v1) || prefixOf(received, v2);
    }

    private static boolean prefixOf(ByteBuf received, byte[] signature) {
        int n = Math.min(received.readableBytes(), signature.length);
        for (int i = 0; i < n; i++) {
            if (received.getByte(received.readerIndex() + i) != signature[i]) {
                return false;
            }
        }
        return true;
    }
}
