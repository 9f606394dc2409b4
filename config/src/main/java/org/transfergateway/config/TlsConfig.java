package org.transfergateway.config;

import java.nio.file.Path;

/**
 * The server's certificate and private key, for FTPS and HTTPS: either a PEM pair
 * ({@code certificate} + {@code privateKey}) or a PKCS#12 {@code keystore}. The files are
 * checked for existence when the config loads; their content is read when the listeners start.
 *
 * @param certificate      PEM certificate chain, the server's own certificate first; null when a keystore is used
 * @param privateKey       PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC); null when a keystore is used
 * @param keystore         PKCS#12 file holding the key and its chain; null when a PEM pair is used
 * @param keystorePassword the keystore's password (empty when it has none)
 */
public record TlsConfig(Path certificate, Path privateKey, Path keystore, String keystorePassword) {
    /** No certificate configured: TLS cannot be turned on. */
    public static final TlsConfig NONE = new TlsConfig(null, null, null, "");

    public TlsConfig {
        keystorePassword = keystorePassword == null ? "" : keystorePassword;
    }

    /** True when a certificate and key are configured, as a PEM pair or a keystore. */
    public boolean configured() {
        return certificate != null || keystore != null;
    }
}
