package org.transfergateway.gateway;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** A self-signed PEM pair for tests, and client-side TLS that trusts exactly that certificate. */
record TlsFixture(Path cert, Path key, X509Certificate certificate, KeyPair pair) {

    /** Writes cert.pem and key.pem (PKCS#8) into {@code dir}. */
    static TlsFixture create(Path dir) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair pair = g.generateKeyPair();
        X509Certificate c = GenCertCommand.selfSigned(pair, "localhost", Duration.ofDays(1));
        Path cert = Files.writeString(dir.resolve("cert.pem"), GenCertCommand.pem("CERTIFICATE", c.getEncoded()));
        Path key = Files.writeString(dir.resolve("key.pem"), GenCertCommand.pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
        return new TlsFixture(cert, key, c, pair);
    }

    /** Reads the certificate a gen-cert run wrote. */
    static X509Certificate read(Path pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(pem)));
    }

    static X509TrustManager trusting(X509Certificate certificate) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("gateway", certificate);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        return (X509TrustManager) tmf.getTrustManagers()[0];
    }

    static SSLContext clientContext(X509Certificate certificate) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new javax.net.ssl.TrustManager[] {trusting(certificate)}, null);
        return ctx;
    }

    X509TrustManager trustManager() throws Exception {
        return trusting(certificate);
    }

    SSLContext clientContext() throws Exception {
        return clientContext(certificate);
    }
}
