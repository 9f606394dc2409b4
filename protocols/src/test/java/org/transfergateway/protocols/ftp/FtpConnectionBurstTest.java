package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * 200 FTP connections opened at once against a listener that takes 20: each one gets an
 * answer, a 220 greeting or a 421 refusal, within a few seconds; none is left waiting in
 * the listener's accept queue. Run 20 times, since a burst's timing varies.
 */
class FtpConnectionBurstTest {
    private static final int BURST = 200;
    private static final int LIMIT = 20;
    /** Longer than a greeting takes, shorter than the client's SYN retries after a full accept queue (1 s, 3 s, 7 s). */
    private static final long ANSWER_WITHIN_MILLIS = 2500;

    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static InetSocketAddress address;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {host: 127.0.0.1, port: 0, passive-ports: 54200-54210}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                limits: {max-connections: %d, max-connections-per-address: %d}
                """.formatted(root, LIMIT, LIMIT));
        ftp = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory()));
        address = ftp.start();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    @Test
    void everyConnectionOfABurstIsGreetedOrRefusedAtOnce() throws Exception {
        for (int round = 1; round <= 20; round++) {
            Map<String, Integer> answers = burst();
            String where = "round " + round + ": " + answers;
            assertEquals(BURST, answers.getOrDefault("220", 0) + answers.getOrDefault("421", 0), where);
            assertEquals(LIMIT, answers.getOrDefault("220", 0), where);
            long deadline = System.currentTimeMillis() + 10_000;
            while (ftp.openConnections() != 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, ftp.openConnections(), where);
        }
    }

    /**
     * Opens {@link #BURST} connections at once and reads each one's first reply, keeping
     * them all open until every one has answered or the time is up; the reply codes
     * counted ("none" for no answer in time, "closed" for a close without one).
     */
    private static Map<String, Integer> burst() throws IOException {
        Map<String, Integer> answers = new TreeMap<>();
        List<SocketChannel> channels = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < BURST; i++) {
                SocketChannel ch = SocketChannel.open();
                channels.add(ch);
                ch.configureBlocking(false);
                ch.connect(address);
                ch.register(selector, SelectionKey.OP_CONNECT, ByteBuffer.allocate(512));
            }
            int pending = BURST;
            long deadline = System.currentTimeMillis() + ANSWER_WITHIN_MILLIS;
            while (pending > 0) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    break;
                }
                selector.select(left);
                for (SelectionKey key : selector.selectedKeys()) {
                    SocketChannel ch = (SocketChannel) key.channel();
                    ByteBuffer buf = (ByteBuffer) key.attachment();
                    String answer = null;
                    try {
                        if (key.isConnectable()) {
                            ch.finishConnect();
                            key.interestOps(SelectionKey.OP_READ);
                            continue;
                        }
                        if (ch.read(buf) < 0) {
                            answer = "closed";
                        } else {
                            String text = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
                            if (text.contains("\r\n")) {
                                answer = text.length() >= 3 ? text.substring(0, 3) : text;
                            }
                        }
                    } catch (IOException e) {
                        answer = "reset";
                    }
                    if (answer != null) {
                        answers.merge(answer, 1, Integer::sum);
                        key.cancel();
                        pending--;
                    }
                }
                selector.selectedKeys().clear();
            }
            if (pending > 0) {
                answers.put("none", pending);
            }
        } finally {
            for (SocketChannel ch : channels) {
                ch.close();
            }
        }
        assertTrue(answers.values().stream().mapToInt(Integer::intValue).sum() == BURST, answers.toString());
        return answers;
    }
}
