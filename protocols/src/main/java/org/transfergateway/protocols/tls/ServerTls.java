package org.transfergateway.protocols.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.TlsConfig;

/**
 * The server's TLS identity, read once from the {@code tls} section: a PEM certificate
 * chain with its private key, or a PKCS#12 keystore. It gives the JDK {@link SSLContext}
 * MINA FtpServer needs and the Netty {@link SslContext} of the HTTP listener. A file that
 * cannot be read or parsed is a {@link ConfigException} naming its key.
 */
public final class ServerTls {
    private static final char[] NO_PASSWORD = new char[0];
    private static final String ALIAS = "server";

    private final KeyManagerFactory keyManagers;
    private final X509Certificate certificate;

    private ServerTls(KeyManagerFactory keyManagers, X509Certificate certificate) {
        this.keyManagers = keyManagers;
        this.certificate = certificate;
    }

    /** Reads the configured certificate and key; the config must have them ({@link TlsConfig#configured()}). */
    public static ServerTls load(TlsConfig config) {
        if (config.keystore() != null) {
            return fromKeystore(config.keystore(), config.keystorePassword().toCharArray());
        }
        List<X509Certificate> chain = readCertificates(config.certificate());
        PrivateKey key = readPrivateKey(config.privateKey());
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new ConfigException("tls.private-key", config.privateKey() + " is not the key of the certificate in "
                    + config.certificate());
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(ALIAS, key, NO_PASSWORD, chain.toArray(new Certificate[0]));
            return new ServerTls(keyManagers(store, NO_PASSWORD), chain.get(0));
        } catch (GeneralSecurityException | IOException e) {
            throw new ConfigException("tls.private-key", config.privateKey() + " cannot be used: " + e.getMessage());
        }
    }

    private static ServerTls fromKeystore(Path file, char[] password) {
        KeyStore store;
        try (InputStream in = Files.newInputStream(file)) {
            store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
        } catch (IOException e) {
            // A wrong password shows as an IOException whose cause is an UnrecoverableKeyException.
            String why = e.getCause() instanceof java.security.UnrecoverableKeyException
                    ? "wrong keystore-password" : "is not a PKCS#12 keystore (" + e.getMessage() + ")";
            throw new ConfigException("tls.keystore", file + ": " + why);
        } catch (GeneralSecurityException e) {
            throw new ConfigException("tls.keystore", file + " cannot be read: " + e.getMessage());
        }
        try {
            X509Certificate certificate = null;
            for (Enumeration<String> aliases = store.aliases(); aliases.hasMoreElements(); ) {
                String alias = aliases.nextElement();
                if (store.isKeyEntry(alias) && store.getCertificate(alias) instanceof X509Certificate c) {
                    certificate = c;
                    break;
                }
            }
            if (certificate == null) {
                throw new ConfigException("tls.keystore", file + " holds no private key with a certificate");
            }
            return new ServerTls(keyManagers(store, password), certificate);
        } catch (GeneralSecurityException e) {
            throw new ConfigException("tls.keystore", file + " cannot be used: " + e.getMessage());
        }
    }

    private static KeyManagerFactory keyManagers(KeyStore store, char[] password) throws GeneralSecurityException {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        return kmf;
    }

    private static List<X509Certificate> readCertificates(Path file) {
        List<X509Certificate> chain = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(r)) {
            JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
            for (Object o = pem.readObject(); o != null; o = pem.readObject()) {
                if (o instanceof X509CertificateHolder holder) {
                    chain.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new ConfigException("tls.certificate", file + " cannot be read: " + e.getMessage());
        }
        if (chain.isEmpty()) {
            throw new ConfigException("tls.certificate", file + " holds no PEM certificate (BEGIN CERTIFICATE)");
        }
        return chain;
    }

    private static PrivateKey readPrivateKey(Path file) {
        Object found = null;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(r)) {
            for (Object o = pem.readObject(); o != null && found == null; o = pem.readObject()) {
                if (o instanceof PrivateKeyInfo || o instanceof PEMKeyPair
                        || o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    found = o;
                }
            }
            if (found instanceof PEMEncryptedKeyPair || found instanceof PKCS8EncryptedPrivateKeyInfo) {
                throw new ConfigException("tls.private-key", file + " is encrypted: give the key without a passphrase");
            }
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (found instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            if (found instanceof PEMKeyPair pair) {
                // Only the private part: a SEC1 EC key need not carry its public key.
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ConfigException c) {
                throw c;
            }
            throw new ConfigException("tls.private-key", file + " cannot be read: " + e.getMessage());
        }
        throw new ConfigException("tls.private-key", file + " holds no PEM private key (BEGIN PRIVATE KEY)");
    }

    /** Signs a few bytes with the key and checks them with the certificate's public key. */
    private static boolean matches(PrivateKey key, PublicKey certified) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return true; // a key type not checked here: the handshake will tell
        }
        try {
            byte[] probe = "transfer-gateway".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certified);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The server's own certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The key managers holding the server's key and chain. */
    public KeyManagerFactory keyManagers() {
        return keyManagers;
    }

    /** A JDK context for servers (MINA FtpServer). */
    public SSLContext sslContext() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keyManagers.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK offers no TLS", e);
        }
    }

    /** A Netty context for the HTTPS listener. */
    public SslContext nettyContext() {
        try {
            return SslContextBuilder.forServer(keyManagers).build();
        } catch (SSLException e) {
            throw new ConfigException("tls", "the certificate cannot be used by the HTTPS listener: " + e.getMessage());
        }
    }
}
