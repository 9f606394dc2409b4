package org.transfergateway.gateway;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gen-cert}: writes a self-signed certificate and its private key as PEM files,
 * for trying FTPS and HTTPS out. Clients must be told to trust the certificate itself
 * ({@code curl --cacert cert.pem}); production belongs to a certificate from a real CA.
 */
@Command(name = "gen-cert", mixinStandardHelpOptions = true,
        description = "Writes a self-signed certificate and private key (PEM) for trying TLS out.")
final class GenCertCommand implements Callable<Integer> {
    @Option(names = "--out-cert", paramLabel = "FILE", defaultValue = "cert.pem",
            description = "where the certificate goes (default: ${DEFAULT-VALUE})")
    Path certFile;

    @Option(names = "--out-key", paramLabel = "FILE", defaultValue = "key.pem",
            description = "where the private key goes, readable by its owner only (default: ${DEFAULT-VALUE})")
    Path keyFile;

    @Option(names = "--host", paramLabel = "NAME", defaultValue = "localhost",
            description = "the host name or address clients connect to (default: ${DEFAULT-VALUE}); "
                    + "localhost and 127.0.0.1 are always included")
    String host;

    @Option(names = "--days", paramLabel = "N", defaultValue = "365", description = "validity (default: ${DEFAULT-VALUE})")
    int days;

    @Option(names = "--force", description = "overwrite existing files")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (days < 1) {
            throw new Main.CommandFailure(Main.USAGE, "--days: " + days + " must be 1 or more");
        }
        if (!force) {
            for (Path f : List.of(certFile, keyFile)) {
                if (Files.exists(f)) {
                    throw new Main.CommandFailure(Main.USAGE, f + " exists: remove it or add --force");
                }
            }
        }
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        X509Certificate cert = selfSigned(pair, host, Duration.ofDays(days));
        try {
            writeKey(keyFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
            write(certFile, pem("CERTIFICATE", cert.getEncoded()), force);
        } catch (IOException e) {
            throw new Main.CommandFailure(1, "cannot write: " + e.getMessage());
        }
        System.out.println("wrote " + certFile + " (certificate for " + String.join(", ", names(host)) + ", valid "
                + days + " days) and " + keyFile + " (private key, PKCS#8)");
        return 0;
    }

    /** The names clients may use: the given host, localhost and 127.0.0.1. */
    static Set<String> names(String host) {
        Set<String> names = new LinkedHashSet<>();
        names.add(host);
        names.add("localhost");
        names.add("127.0.0.1");
        return names;
    }

    /**
     * A self-signed server certificate for {@code host}, with SANs for it, localhost and
     * 127.0.0.1, signed by {@code pair} (RSA or EC).
     */
    static X509Certificate selfSigned(KeyPair pair, String host, Duration validity)
            throws GeneralSecurityException, IOException {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.CN, host)
                .addRDN(BCStyle.O, "Transfer Gateway (self-signed)")
                .build();
        Instant now = Instant.now();
        BigInteger serial = new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE);
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial,
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, pair.getPublic());
        List<GeneralName> sans = new ArrayList<>();
        for (String name : names(host)) {
            sans.add(isAddress(name) ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name));
        }
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])))
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder(
                    pair.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA").build(pair.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign: " + e.getMessage(), e);
        }
    }

    private static boolean isAddress(String name) {
        // Literal addresses only, so that no name is looked up in DNS.
        if (!name.matches("[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*")) {
            return false;
        }
        try {
            InetAddress.getByName(name);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** The key is created readable by its owner only (600), never briefly readable by others. */
    private void writeKey(Path file, String text) throws IOException {
        if (force) {
            Files.deleteIfExists(file);
        }
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file); // not a POSIX file system: its own defaults apply
        } catch (FileAlreadyExistsException e) {
            throw new IOException(file + " exists", e);
        }
        write(file, text, true);
    }

    private static void write(Path file, String text, boolean overwrite) throws IOException {
        if (overwrite) {
            Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        } else {
            Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
        }
    }
}
