package org.transfergateway.protocols.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The PROXY header as the FTP and SFTP listeners read it from the first bytes of a connection. */
class ProxyHeaderTest {

    @Test
    void v1HeaderNamesTheClientAndEndsWhereTheTrafficBegins() throws Exception {
        byte[] header = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 2121\r\n".getBytes(StandardCharsets.US_ASCII);
        ProxyHeader.Parsed p = parse(concat(header, "USER a\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(header.length, p.length());
        assertEquals(new InetSocketAddress("192.0.2.7", 40000), p.client());
        assertEquals(new InetSocketAddress("2001:db8::7", 5),
                parse("PROXY TCP6 2001:db8::7 ::1 5 22\r\n".getBytes(StandardCharsets.US_ASCII)).client());
    }

    @Test
    void v2HeaderNamesTheClientAndLocalKeepsThePeer() throws Exception {
        byte[] v2 = ProxyHeaders.v2("192.0.2.7", 40000, "127.0.0.1", 22);
        ProxyHeader.Parsed p = parse(concat(v2, "SSH-2.0-x\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(v2.length, p.length());
        assertEquals(new InetSocketAddress("192.0.2.7", 40000), p.client());
        byte[] local = ProxyHeaders.v2Local();
        ProxyHeader.Parsed l = parse(local);
        assertEquals(16, l.length());
        assertNull(l.client());
        assertNull(parse("PROXY UNKNOWN\r\n".getBytes(StandardCharsets.US_ASCII)).client());
    }

    @Test
    void aHeaderInPiecesNeedsMoreBytesUntilWhole() throws Exception {
        byte[] header = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 2121\r\n".getBytes(StandardCharsets.US_ASCII);
        for (int n = 1; n < header.length; n++) {
            assertNull(parse(Arrays.copyOf(header, n)), "after " + n + " bytes");
        }
        byte[] v2 = ProxyHeaders.v2("192.0.2.7", 40000, "127.0.0.1", 22);
        for (int n = 1; n < v2.length; n++) {
            assertNull(parse(Arrays.copyOf(v2, n)), "after " + n + " bytes of v2");
        }
    }

    @Test
    void trafficWithoutAHeaderOrAGarbledHeaderIsRefused() {
        for (String bad : new String[] {"G", "GET / HTTP/1.1\r\n", "USER a\r\n", "SSH-2.0-OpenSSH_9.2\r\n",
                "PROXY TCP4 192.0.2.999 127.0.0.1 1 2\r\n", "PROXY TCP4 192.0.2.7 127.0.0.1 1\r\n",
                "PROXY " + "9".repeat(120) + "\r\n"}) {
            assertThrows(ProxyHeader.InvalidException.class, () -> parse(bad.getBytes(StandardCharsets.US_ASCII)), bad);
        }
        byte[] v2 = ProxyHeaders.v2("192.0.2.7", 40000, "127.0.0.1", 22);
        v2[12] = 0x31; // version 3
        assertThrows(ProxyHeader.InvalidException.class, () -> parse(v2));
    }

    private static ProxyHeader.Parsed parse(byte[] bytes) throws ProxyHeader.InvalidException {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            ProxyHeader.Parsed p = ProxyHeader.parse(buf);
            assertEquals(bytes.length, buf.readableBytes(), "parse leaves the bytes as they are");
            return p;
        } finally {
            buf.release();
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
