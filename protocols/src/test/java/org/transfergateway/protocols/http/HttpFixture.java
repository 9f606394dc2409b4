package org.transfergateway.protocols.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/** A real HTTP front end on 127.0.0.1, port 0, over local disk in a temporary folder. */
final class HttpFixture implements AutoCloseable {
    final Path root;
    final GatewayConfig config;
    final TransferMeter meter;
    final Accounts accounts;
    final HttpFrontEnd frontEnd;
    final InetSocketAddress address;

    HttpFixture(Path dir, Supplier<String> prometheusText) throws Exception {
        this(dir, prometheusText, UnaryOperator.identity());
    }

    /** With the local backend wrapped, to stage what a real backend does (stall, fail). */
    HttpFixture(Path dir, Supplier<String> prometheusText, UnaryOperator<Storage> wrap) throws Exception {
        this(dir, prometheusText, wrap, "");
    }

    /** With a {@code limits:} section, given as its indented YAML lines. */
    HttpFixture(Path dir, String limitsYaml) throws Exception {
        this(dir, () -> "", UnaryOperator.identity(), limitsYaml.isEmpty() ? "" : "limits:\n" + limitsYaml);
    }

    /** With more top-level sections (such as {@code security:}), given as YAML. */
    static HttpFixture withSections(Path dir, String sectionsYaml) throws Exception {
        return new HttpFixture(dir, () -> "", UnaryOperator.identity(), sectionsYaml);
    }

    /** With the meter given: one on a test's clock, with transfers recorded beforehand. */
    /** The usual users and, after them, {@code usersYaml}: more entries of the {@code users:} list. */
    static HttpFixture withMoreUsers(Path dir, String usersYaml) throws Exception {
        return withSections(dir, usersYaml);
    }

    HttpFixture(Path dir, TransferMeter meter) throws Exception {
        this(dir, () -> "", UnaryOperator.identity(), "", meter);
    }

    private HttpFixture(Path dir, Supplier<String> prometheusText, UnaryOperator<Storage> wrap, String sectionsYaml)
            throws Exception {
        this(dir, prometheusText, wrap, sectionsYaml, TransferMeter.inMemory());
    }

    /** With WebDAV served under /dav/ too, counted as webdav. */
    static HttpFixture withWebDav(Path dir) throws Exception {
        return withWebDav(dir, "");
    }

    /** With WebDAV, and more top-level sections given as YAML. */
    static HttpFixture withWebDav(Path dir, String sectionsYaml) throws Exception {
        return new HttpFixture(dir, () -> "", UnaryOperator.identity(), sectionsYaml, TransferMeter.inMemory(), true);
    }

    private HttpFixture(Path dir, Supplier<String> prometheusText, UnaryOperator<Storage> wrap, String sectionsYaml,
                        TransferMeter meter) throws Exception {
        this(dir, prometheusText, wrap, sectionsYaml, meter, false);
    }

    private HttpFixture(Path dir, Supplier<String> prometheusText, UnaryOperator<Storage> wrap, String sectionsYaml,
                        TransferMeter meter, boolean webDav) throws Exception {
        this.root = dir.resolve("files");
        this.config = config(dir, sectionsYaml);
        this.meter = meter;
        // As a gateway does: every front end it has shows in the statistics, running or not.
        meter.announce(org.transfergateway.protocols.ftp.FtpFrontEnd.PROTOCOL);
        this.accounts = new Accounts(config, Map.of("local", wrap.apply(new LocalStorage("local", root))), meter);
        this.frontEnd = new HttpFrontEnd(config.http(), config.limits(), accounts, prometheusText).withWebDav(webDav)
                .withProxyProtocol(config.listeners().proxyProtocol());
        this.address = frontEnd.start();
    }

    /** Users alice (password secret) and admin (admin-secret, an admin) on local disk under {@code dir/files}. */
    static GatewayConfig config(Path dir) {
        return config(dir, "");
    }

    static GatewayConfig config(Path dir, String sectionsYaml) {
        String yaml = """
                data-dir: %s
                http:
                  host: 127.0.0.1
                  port: 0
                  idle-timeout: 30s
                storage:
                  backends:
                    - name: local
                      type: local
                      root: %s
                users:
                  - name: alice
                    password: secret
                  - name: admin
                    password: admin-secret
                    admin: true
                """.formatted(dir.resolve("data"), dir.resolve("files"))
                + sectionsYaml;
        return new ConfigLoader(Map.of()).parse(yaml);
    }

    static Accounts accounts(GatewayConfig config, Path root, TransferMeter meter) throws IOException {
        return new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter);
    }

    String url(String path) {
        return "http://127.0.0.1:" + address.getPort() + path;
    }

    Socket socket() throws IOException {
        Socket s = new Socket(address.getAddress(), address.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** A socket from another loopback address, such as 127.0.0.2. */
    Socket socketFrom(String localAddress) throws IOException {
        Socket s = new Socket(address.getAddress(), address.getPort(), java.net.InetAddress.getByName(localAddress), 0);
        s.setSoTimeout(10_000);
        return s;
    }

    static void send(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Reads one response with a Content-Length body from a raw socket. */
    static RawResponse read(InputStream in) throws IOException {
        RawResponse head = readHead(in);
        byte[] body = in.readNBytes(head.length());
        return new RawResponse(head.status(), head.connection(), new String(body, StandardCharsets.UTF_8), head.length());
    }

    /** Reads the head of one response, leaving its body unread. */
    static RawResponse readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed after " + head);
            }
            head.append((char) c);
        }
        String[] lines = head.toString().split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        int length = 0;
        String connection = null;
        for (String line : lines) {
            String lower = line.toLowerCase();
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
            if (lower.startsWith("connection:")) {
                connection = line.substring(11).trim();
            }
        }
        return new RawResponse(status, connection, "", length);
    }

    record RawResponse(int status, String connection, String body, int length) {
    }

    static String basic(String user, String password) {
        return "Basic " + java.util.Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        frontEnd.close();
    }
}
