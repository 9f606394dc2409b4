package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.math.BigInteger;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Getting TLS set up: gen-cert's pair is served as it is, the usual key formats load, and
 * every mistake ends with status 2 and one line naming the key.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsSetupTest {
    @TempDir
    Path dir;

    private Path config(String yaml) throws Exception {
        return Files.writeString(dir.resolve("gateway.yaml"), yaml);
    }

    private String httpsConfig(Path cert, Path key) {
        return """
                tls: {certificate: %s, private-key: %s}
                ftp: {enabled: false}
                http: {port: 0, tls: true}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: pw}]
                ledger: {url: %s}
                """.formatted(cert, key, dir.resolve("files"), dir.resolve("ledger"));
    }

    /** Starts an HTTPS gateway on the pair and asks /healthz with a client trusting {@code trusted}. */
    private String healthOverHttps(Path cert, Path key, X509Certificate trusted) throws Exception {
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(httpsConfig(cert, key)))) {
            HttpClient client = HttpClient.newBuilder().sslContext(TlsFixture.clientContext(trusted))
                    .version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + g.httpAddress().getPort() + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() + " " + r.body();
        }
    }

    @Test
    void genCertWritesAPairThatTheGatewayServes() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        CommandLineTest.Result r = CommandLineTest.run("", "gen-cert", "--out-cert", cert.toString(),
                "--out-key", key.toString(), "--host", "files.example.org", "--days", "30");
        assertEquals(0, r.status(), r.err());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----\n"));
        X509Certificate c = TlsFixture.read(cert);
        Set<String> sans = c.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).collect(Collectors.toSet());
        assertEquals(Set.of("files.example.org", "localhost", "127.0.0.1"), sans);
        long days = Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()).toDays();
        assertEquals(30, days);
        assertEquals("200 ok", healthOverHttps(cert, key, c));
    }

    @Test
    void genCertDoesNotOverwriteWithoutForce() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "mine");
        CommandLineTest.Result r = CommandLineTest.run("", "gen-cert", "--out-cert", cert.toString(),
                "--out-key", dir.resolve("key.pem").toString());
        assertEquals(2, r.status());
        assertEquals("gateway: " + cert + " exists: remove it or add --force\n", r.err());
        assertEquals("mine", Files.readString(cert));
        assertTrue(Files.notExists(dir.resolve("key.pem")));
    }

    @Test
    void pkcs1RsaAndEcKeysAreServedToo() throws Exception {
        for (String algorithm : List.of("RSA", "EC")) {
            KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
            g.initialize(algorithm.equals("RSA") ? 2048 : 256);
            KeyPair pair = g.generateKeyPair();
            X509Certificate c = GenCertCommand.selfSigned(pair, "localhost", Duration.ofDays(1));
            Path cert = Files.writeString(dir.resolve(algorithm + "-cert.pem"), GenCertCommand.pem("CERTIFICATE", c.getEncoded()));
            String text = algorithm.equals("RSA") ? pkcs1(pair) : sec1(pair);
            assertTrue(text.startsWith("-----BEGIN " + algorithm + " PRIVATE KEY-----"), text);
            Path key = Files.writeString(dir.resolve(algorithm + "-key.pem"), text);
            assertEquals("200 ok", healthOverHttps(cert, key, c), algorithm);
        }
    }

    /** "BEGIN RSA PRIVATE KEY", as older OpenSSL writes it. */
    private static String pkcs1(KeyPair pair) throws Exception {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(text)) {
            w.writeObject(pair.getPrivate());
        }
        return text.toString();
    }

    /** "BEGIN EC PRIVATE KEY" with its curve and public key, as {@code openssl ecparam -genkey} writes it. */
    private static String sec1(KeyPair pair) throws Exception {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(pair.getPrivate().getEncoded());
        BigInteger s = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey()).getKey();
        org.bouncycastle.asn1.sec.ECPrivateKey full = new org.bouncycastle.asn1.sec.ECPrivateKey(256, s,
                SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded()).getPublicKeyData(),
                info.getPrivateKeyAlgorithm().getParameters());
        return GenCertCommand.pem("EC PRIVATE KEY", full.getEncoded());
    }

    @Test
    void aPkcs12KeystoreIsServed() throws Exception {
        TlsFixture pem = TlsFixture.create(dir);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("gw", pem.pair().getPrivate(), "s3cret".toCharArray(), new Certificate[] {pem.certificate()});
        Path p12 = dir.resolve("server.p12");
        try (var out = Files.newOutputStream(p12)) {
            store.store(out, "s3cret".toCharArray());
        }
        String yaml = httpsConfig(pem.cert(), pem.key()).replace(
                "tls: {certificate: " + pem.cert() + ", private-key: " + pem.key() + "}",
                "tls: {keystore: " + p12 + ", keystore-password: s3cret}");
        try (Gateway g = Gateway.start(new ConfigLoader(Map.of()).parse(yaml))) {
            HttpClient client = HttpClient.newBuilder().sslContext(pem.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + g.httpAddress().getPort() + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
        }
        CommandLineTest.Result wrong = CommandLineTest.run("", "serve", "--config",
                config(yaml.replace("keystore-password: s3cret", "keystore-password: nope")).toString());
        assertEquals(2, wrong.status());
        assertEquals("gateway: tls.keystore: " + p12 + ": wrong keystore-password\n", wrong.err());
    }

    @Test
    void tlsWithoutACertificateExitsWithTwoNamingTheKey() throws Exception {
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config("""
                ftp: {port: 0, tls: explicit}
                http: {enabled: false}
                users: [{name: a, password: b}]
                """).toString());
        assertEquals(2, r.status());
        assertEquals("gateway: ftp.tls: explicit needs a certificate: set tls.certificate and tls.private-key, or tls.keystore\n",
                r.err());
    }

    @Test
    void aKeyFileThatIsNotAKeyExitsWithTwoNamingTheKey() throws Exception {
        TlsFixture pem = TlsFixture.create(dir);
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a key at all\n");
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config(httpsConfig(pem.cert(), garbage)).toString());
        assertEquals(2, r.status());
        assertEquals("gateway: tls.private-key: " + garbage + " holds no PEM private key (BEGIN PRIVATE KEY)\n", r.err());
    }

    @Test
    void aMissingKeyFileExitsWithTwoNamingTheKey() throws Exception {
        TlsFixture pem = TlsFixture.create(dir);
        Path missing = dir.resolve("missing.pem");
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config(httpsConfig(pem.cert(), missing)).toString());
        assertEquals(2, r.status());
        assertEquals("gateway: tls.private-key: " + missing + " cannot be read: no such file\n", r.err());
    }

    @Test
    void aKeyThatIsNotTheCertificatesExitsWithTwo() throws Exception {
        TlsFixture pem = TlsFixture.create(dir);
        Path other = TlsFixture.create(Files.createDirectory(dir.resolve("other"))).key();
        CommandLineTest.Result r = CommandLineTest.run("", "serve", "--config", config(httpsConfig(pem.cert(), other)).toString());
        assertEquals(2, r.status());
        assertEquals("gateway: tls.private-key: " + other + " is not the key of the certificate in " + pem.cert() + "\n", r.err());
    }
}
