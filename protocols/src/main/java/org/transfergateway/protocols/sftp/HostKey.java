package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.Iterator;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigException;

/**
 * The server's ed25519 host key, in OpenSSH's own format (what {@code ssh-keygen} writes),
 * created on first start when the file is absent: readable by the owner only, with the
 * public half beside it as {@code <file>.pub}.
 */
final class HostKey {
    private static final Logger log = LoggerFactory.getLogger(HostKey.class);

    private HostKey() {
    }

    static KeyPair loadOrCreate(Path file) {
        try {
            if (!Files.exists(file)) {
                return create(file);
            }
            try (InputStream in = Files.newInputStream(file)) {
                Iterable<KeyPair> pairs = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.toString()), in, null);
                Iterator<KeyPair> it = pairs == null ? null : pairs.iterator();
                if (it == null || !it.hasNext()) {
                    throw new ConfigException("sftp.host-key", file + " holds no private key");
                }
                return it.next();
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (e instanceof ConfigException c) {
                throw c;
            }
            throw new ConfigException("sftp.host-key", file + " cannot be read or created: " + e.getMessage());
        }
    }

    private static KeyPair create(Path file) throws IOException, GeneralSecurityException {
        KeyPair pair = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp); // not a POSIX file system
        }
        try (OutputStream out = Files.newOutputStream(tmp)) {
            OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, "transfer-gateway", null, out);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tmp);
            return loadOrCreate(file); // another gateway on the same data directory made it first
        }
        try (OutputStream out = Files.newOutputStream(Path.of(file + ".pub"))) {
            OpenSSHKeyPairResourceWriter.INSTANCE.writePublicKey(pair.getPublic(), "transfer-gateway", out);
        }
        log.info("sftp: created the host key {} ({})", file, KeyUtils.getFingerPrint(pair.getPublic()));
        return pair;
    }
}
