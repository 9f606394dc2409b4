package org.transfergateway.storage.gcs;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.Map;

/** Service account keys for tests of credentials: well formed, known to nobody. */
public final class GcsKeys {
    private GcsKeys() {
    }

    /** A service account key file with a fresh RSA key, whose tokens come from {@code tokenUri}. */
    public static Path serviceAccountKey(Path dir, URI tokenUri) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(g.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        Map<String, String> key = Map.of("type", "service_account", "project_id", "test-project",
                "private_key_id", "0123456789abcdef", "private_key", pem,
                "client_email", "gateway@test-project.iam.gserviceaccount.com", "client_id", "1",
                "token_uri", tokenUri.toString());
        return Files.writeString(dir.resolve("service-account.json"), new ObjectMapper().writeValueAsString(key));
    }
}
