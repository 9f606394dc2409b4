package org.transfergateway.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;
import org.transfergateway.config.Units;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code stats}: asks a running gateway for {@code /api/stats} and prints a table (or the JSON). */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = "Prints the transfer statistics of a running gateway.")
final class StatsCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "the gateway's HTTP address (default: ${DEFAULT-VALUE})")
    String url;

    @Option(names = "--user", defaultValue = "${env:GATEWAY_USER:-demo}", description = "user name (default: $GATEWAY_USER or demo)")
    String user;

    @Option(names = "--password", defaultValue = "${env:GATEWAY_PASSWORD:-demo}", description = "password (default: $GATEWAY_PASSWORD or demo)")
    String password;

    @Option(names = "--json", description = "print the JSON as the gateway sent it")
    boolean json;

    @Option(names = "--cacert", paramLabel = "FILE",
            description = "trust the HTTPS certificates signed by the PEM certificate(s) in FILE (and only those), as curl --cacert does;"
                    + " for a self-signed certificate, the certificate itself")
    Path cacert;

    PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        String body = fetch();
        if (json) {
            out.println(body);
        } else {
            print(new ObjectMapper().readTree(body));
        }
        return 0;
    }

    private String fetch() {
        URI uri = URI.create(url.replaceAll("/+$", "") + "/api/stats");
        HttpGet get = new HttpGet(uri);
        get.setHeader("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
        RequestConfig rc = RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(30)).build();
        HttpClientBuilder builder = HttpClients.custom().setDefaultRequestConfig(rc);
        if (cacert != null) {
            builder.setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                    .setTlsSocketStrategy(new DefaultClientTlsStrategy(trusting(cacert))).build());
        }
        try (CloseableHttpClient client = builder.build()) {
            return client.execute(get, response -> {
                String text = response.getEntity() == null ? "" : EntityUtils.toString(response.getEntity(), StandardCharsets.UTF_8);
                if (response.getCode() == 401) {
                    throw new Main.CommandFailure(1, uri + ": the user name or password was refused (401)");
                }
                if (response.getCode() != 200) {
                    throw new Main.CommandFailure(1, uri + ": answered " + response.getCode() + " " + text);
                }
                return text;
            });
        } catch (SSLException e) {
            throw new Main.CommandFailure(Main.USAGE, uri + ": the gateway's certificate is not trusted ("
                    + oneLine(e.getMessage()) + "); give its CA certificate, or the self-signed certificate itself, with --cacert FILE");
        } catch (IOException e) {
            throw new Main.CommandFailure(1, uri + ": cannot reach the gateway: " + e.getMessage());
        }
    }

    /** A TLS context that trusts exactly the certificates in the PEM file {@code file}. */
    static SSLContext trusting(Path file) {
        try {
            Collection<? extends Certificate> certificates;
            try (InputStream in = Files.newInputStream(file)) {
                certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
            }
            if (certificates.isEmpty()) {
                throw new CertificateException("no certificate in it");
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int i = 0;
            for (Certificate c : certificates) {
                store.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException e) {
            throw new Main.CommandFailure(Main.USAGE, "--cacert " + file + ": cannot be read: " + oneLine(String.valueOf(e.getMessage())));
        } catch (GeneralSecurityException e) {
            throw new Main.CommandFailure(Main.USAGE, "--cacert " + file + ": is not a PEM certificate: " + oneLine(String.valueOf(e.getMessage())));
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }

    private void print(JsonNode s) {
        JsonNode t = s.path("transferred");
        out.printf("Transferred since %s%n", s.path("since").asText());
        String row = "  %-20s %24s %24s %9s %9s %9s %9s%n";
        out.printf(row, "", "bytes in", "bytes out", "files in", "files out", "failed in", "failed out");
        counters(row, "total", t);
        for (Iterator<Map.Entry<String, JsonNode>> it = t.path("byProtocol").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            counters(row, e.getKey(), e.getValue());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = t.path("byUser").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            counters(row, "user " + e.getKey(), e.getValue());
        }
        JsonNode st = s.path("stored");
        out.printf("%nStored%n");
        String srow = "  %-20s %24s %9s%n";
        out.printf(srow, "", "bytes", "objects");
        out.printf(srow, "total", human(st.path("bytes").asLong()), st.path("objects").asLong());
        for (Iterator<Map.Entry<String, JsonNode>> it = st.path("byBackend").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.printf(srow, "backend " + e.getKey(), human(e.getValue().path("bytes").asLong()), e.getValue().path("objects").asLong());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = st.path("byUser").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.printf(srow, "user " + e.getKey(), human(e.getValue().path("bytes").asLong()), e.getValue().path("objects").asLong());
        }
        JsonNode active = s.path("active");
        out.printf("%nActive transfers: %d%n", active.size());
        if (active.size() > 0) {
            String arow = "  %-10s %-5s %-4s %-10s %24s %12s  %s%n";
            out.printf(arow, "user", "proto", "dir", "node", "bytes", "rate", "path");
            for (JsonNode a : active) {
                long bytes = a.path("bytes").asLong();
                double secs = Math.max(0.001, Duration.between(Instant.parse(a.path("startedAt").asText()), Instant.now()).toMillis() / 1000.0);
                out.printf(arow, a.path("user").asText(), a.path("protocol").asText(), a.path("direction").asText(),
                        a.path("node").asText(),
                        human(bytes), Units.formatSize((long) (bytes / secs)) + "/s", a.path("path").asText());
            }
        }
    }

    private void counters(String row, String label, JsonNode c) {
        out.printf(row, label, human(c.path("bytesIn").asLong()), human(c.path("bytesOut").asLong()),
                c.path("filesIn").asLong(), c.path("filesOut").asLong(), c.path("failedIn").asLong(), c.path("failedOut").asLong());
    }

    /** Exact below 1 KiB; above, rounded to one decimal for reading and exact beside it: "1.5 GiB (1610612736)". */
    static String human(long bytes) {
        return bytes < 1024 ? bytes + " B" : Units.formatSize(bytes) + " (" + bytes + ")";
    }

}
