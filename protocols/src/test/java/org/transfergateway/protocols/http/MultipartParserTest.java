package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/** The streaming multipart parser on its own, fed in chunks split at every position. */
class MultipartParserTest {
    private static final String BOUNDARY = "------------------------d74496d66958873e";

    /** Records events; consecutive data is merged so that chunking does not show. */
    private static final class Recorder implements MultipartParser.Listener {
        final List<String> events = new ArrayList<>();
        private ByteArrayOutputStream data;

        @Override
        public void partStarted(MultipartParser.Part part) {
            events.add("start name=" + part.name() + " filename=" + part.filename());
            data = new ByteArrayOutputStream();
        }

        @Override
        public void partData(ByteBuffer chunk) {
            byte[] b = new byte[chunk.remaining()];
            chunk.get(b);
            data.write(b, 0, b.length);
        }

        @Override
        public void partEnded() {
            events.add("data " + data.toString(StandardCharsets.UTF_8));
            events.add("end");
        }
    }

    private static byte[] body() {
        String b = "preamble to ignore\r\n"
                + "--" + BOUNDARY + "\r\n"
                + "Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n"
                + "\r\n"
                + "first\r\n--not the boundary\r\n-" + "\r\n"
                + "--" + BOUNDARY + "\r\n"
                + "Content-Disposition: form-data; name=\"note\"\r\n"
                + "\r\n"
                + "a field\r\n"
                + "--" + BOUNDARY + "\r\n"
                + "Content-Disposition: form-data; name=\"file2\"; filename=\"überweisung ✓.txt\"\r\n"
                + "\r\n"
                + "x\r\n--" + BOUNDARY.substring(0, 20) + "y\r\n"
                + "--" + BOUNDARY + "--\r\n"
                + "epilogue";
        return b.getBytes(StandardCharsets.UTF_8);
    }

    private static final List<String> EXPECTED = List.of(
            "start name=file filename=a.bin",
            "data first\r\n--not the boundary\r\n-",
            "end",
            "start name=note filename=null",
            "data a field",
            "end",
            "start name=file2 filename=überweisung ✓.txt",
            "data x\r\n--" + BOUNDARY.substring(0, 20) + "y",
            "end");

    private static List<String> parse(byte[] body, int... cuts) throws IOException {
        Recorder r = new Recorder();
        MultipartParser p = new MultipartParser(BOUNDARY, r);
        int from = 0;
        for (int cut : cuts) {
            p.feed(ByteBuffer.wrap(body, from, cut - from));
            from = cut;
        }
        p.feed(ByteBuffer.wrap(body, from, body.length - from));
        p.finish();
        return r.events;
    }

    @Test
    void aWholeBodyGivesEveryPartWithItsContent() throws IOException {
        List<String> events = parse(body());
        assertEquals(EXPECTED, events);
    }

    @Test
    void aBodySplitInTwoAtEveryPositionParsesAlike() throws IOException {
        byte[] body = body();
        for (int cut = 0; cut <= body.length; cut++) {
            assertEquals(EXPECTED, parse(body, cut), "split at " + cut);
        }
    }

    @Test
    void aBodySplitInThreeAtEveryPairOfPositionsParsesAlike() throws IOException {
        byte[] body = body();
        for (int a = 0; a <= body.length; a += 3) {
            for (int b = a; b <= body.length; b += 5) {
                assertEquals(EXPECTED, parse(body, a, b), "split at " + a + " and " + b);
            }
        }
    }

    @Test
    void aBodyFedByteByByteParsesAlike() throws IOException {
        byte[] body = body();
        int[] cuts = new int[body.length - 1];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i + 1;
        }
        assertEquals(EXPECTED, parse(body, cuts));
    }

    @Test
    void aBodyWithoutItsClosingBoundaryIsRefused() throws IOException {
        byte[] body = body();
        String s = new String(body, StandardCharsets.UTF_8);
        byte[] cut = s.substring(0, s.indexOf("a field")).getBytes(StandardCharsets.UTF_8);
        MultipartParser p = new MultipartParser(BOUNDARY, new Recorder());
        p.feed(ByteBuffer.wrap(cut));
        GatewayException e = assertThrows(GatewayException.class, p::finish);
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
    }

    @Test
    void theBoundaryComesFromTheContentTypeQuotedOrNot() throws GatewayException {
        assertEquals("abc", MultipartParser.boundary("multipart/form-data; boundary=abc"));
        assertEquals("a b;c", MultipartParser.boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b;c\""));
        assertEquals(ErrorCode.BAD_REQUEST,
                assertThrows(GatewayException.class, () -> MultipartParser.boundary("application/json")).code());
        assertEquals(ErrorCode.BAD_REQUEST,
                assertThrows(GatewayException.class, () -> MultipartParser.boundary("multipart/form-data")).code());
    }

    @Test
    void aFileNameWithAPathIsReducedToItsLastSegment() throws GatewayException {
        assertEquals("b", MultipartUpload.baseName("a/../b"));
        assertEquals("y.bin", MultipartUpload.baseName("C:\\x\\y.bin"));
        assertEquals("plain.txt", MultipartUpload.baseName("plain.txt"));
        assertEquals(ErrorCode.BAD_PATH, assertThrows(GatewayException.class, () -> MultipartUpload.baseName("a/..")).code());
        assertEquals(ErrorCode.BAD_PATH, assertThrows(GatewayException.class, () -> MultipartUpload.baseName("dir/")).code());
    }
}
