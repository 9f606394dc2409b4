package org.transfergateway.storage.local;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;

/**
 * Files in a folder of the local disk. An upload goes to a temporary file inside the
 * root (so that the final rename stays on one file system) and is renamed into place
 * only on commit; the temporary folder is hidden from listings.
 *
 * <p>Symbolic links are followed only while they stay inside the root: a link that
 * leads out is treated as absent, and so is a dangling link (an upload replaces it).
 */
public final class LocalStorage implements Storage {
    /** Holds uploads in progress; never shown to users. */
    public static final String TEMP_FOLDER = ".transfer-gateway-tmp";

    private final String name;
    private final Path root;
    private final Path temp;
    /** Numbers the temporary files of uploads. */
    private final AtomicLong parts = new AtomicLong();

    /** Opens the folder for a starting gateway: what a crash left in progress is removed. */
    public LocalStorage(String name, Path root) throws IOException {
        this(name, root, true);
    }

    /**
     * @param removeLeftovers false for a tool (reconcile) that runs beside a gateway:
     *                        the temporary files may be that gateway's uploads in progress
     */
    public LocalStorage(String name, Path root, boolean removeLeftovers) throws IOException {
        this.name = name;
        Files.createDirectories(root);
        this.root = root.toRealPath();
        this.temp = this.root.resolve(TEMP_FOLDER);
        Files.createDirectories(temp);
        if (!removeLeftovers) {
            return;
        }
        // Leftovers of a crash are partial files: they must never surface.
        try (Stream<Path> old = Files.list(temp)) {
            for (Path p : (Iterable<Path>) old::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    public String name() {
        return name;
    }

    public Path root() {
        return root;
    }

    /** The path of a key, or null when an existing path (through links) lies outside the root. */
    private Path resolve(String key) throws IOException {
        Path p = key.isEmpty() ? root : root.resolve(key);
        if (!p.normalize().startsWith(root) || p.startsWith(temp)) {
            return null;
        }
        // java.io.File's test, through links: Files.exists creates an exception (with its
        // stack trace) for every absent path, as every new upload's is. A dangling link is
        // absent: a read finds nothing, and an upload's rename replaces the link itself.
        if (p.toFile().exists()) {
            try {
                if (!p.toRealPath().startsWith(root)) {
                    return null;
                }
            } catch (NoSuchFileException e) {
                return null; // removed meanwhile
            }
        }
        return p;
    }

    private Path existing(String key) throws IOException {
        Path p = resolve(key);
        return p != null && p.toFile().exists() ? p : null;
    }

    /** The nearest existing ancestor must lie inside the root, through any links. */
    private Path writable(String key) throws IOException {
        Path p = resolve(key);
        if (p == null) {
            throw ErrorCode.FORBIDDEN.exception("the path leads outside the storage root");
        }
        Path ancestor = p.getParent();
        while (ancestor != null && !Files.exists(ancestor, LinkOption.NOFOLLOW_LINKS)) {
            ancestor = ancestor.getParent();
        }
        if (ancestor == null || !ancestor.toRealPath().startsWith(root)) {
            throw ErrorCode.FORBIDDEN.exception("the path leads outside the storage root");
        }
        return p;
    }

    private ObjectInfo info(String key, Path p, BasicFileAttributes a) {
        if (a.isDirectory()) {
            return ObjectInfo.folder(key, a.lastModifiedTime().toInstant());
        }
        long mtime = a.lastModifiedTime().toMillis();
        return ObjectInfo.file(key, a.size(), a.lastModifiedTime().toInstant(),
                Long.toHexString(mtime) + "-" + Long.toHexString(a.size()));
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        Path p = existing(key);
        if (p == null) {
            return null;
        }
        return info(key, p, Files.readAttributes(p, BasicFileAttributes.class));
    }

    @Override
    public Upload create(String key) throws IOException {
        Path target = writable(key);
        if (isFolder(target)) {
            throw ErrorCode.CONFLICT.exception("a folder exists at that path");
        }
        // Unique by CREATE_NEW; a random name, without the lock of a SecureRandom per upload.
        Path part = temp.resolve(Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-" + parts.incrementAndGet() + ".part");
        FileChannel channel;
        try {
            channel = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw failure("creating " + part + " for " + key, e);
        }
        return new LocalUpload(key, target, part, channel);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        Path p = existing(key);
        if (p == null || Files.isDirectory(p)) {
            return null;
        }
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ);
        try {
            return new FileStream(ch, offset, length);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        Path dir = existing(dirKey);
        List<ObjectInfo> out = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> children = Files.list(dir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                String childKey = dirKey.isEmpty() ? child.getFileName().toString() : dirKey + "/" + child.getFileName();
                if (child.equals(temp) || resolve(childKey) == null) {
                    continue;
                }
                try {
                    out.add(info(childKey, child, Files.readAttributes(child, BasicFileAttributes.class)));
                } catch (NoSuchFileException e) {
                    // removed while listing
                }
            }
        }
        out.sort(Comparator.comparing(ObjectInfo::name));
        return out;
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        Path dir = existing(dirKey);
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(p -> !p.startsWith(temp)).forEach(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (a.isRegularFile()) {
                        sink.accept(info(root.relativize(p).toString(), p, a));
                    }
                } catch (NoSuchFileException e) {
                    // removed while walking
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public boolean delete(String key) throws IOException {
        Path p = existing(key);
        if (p == null) {
            return false;
        }
        if (Files.isDirectory(p)) {
            throw ErrorCode.CONFLICT.exception("that is a folder");
        }
        return Files.deleteIfExists(p);
    }

    @Override
    public void move(String from, String to) throws IOException {
        Path source = existing(from);
        if (source == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file or folder");
        }
        Path target = writable(to);
        if (target.startsWith(source)) {
            throw ErrorCode.CONFLICT.exception("a folder cannot move into itself");
        }
        makeParents(target);
        try {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (DirectoryNotEmptyException e) {
            throw ErrorCode.CONFLICT.exception("a folder that is not empty exists at the target");
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        Path p = writable(dirKey);
        try {
            Files.createDirectories(p);
        } catch (FileAlreadyExistsException e) {
            throw ErrorCode.CONFLICT.exception("a file exists at that path");
        } catch (IOException e) {
            throw failure("making the folder " + p, e);
        }
    }

    @Override
    public boolean keepsModified() {
        return true;
    }

    @Override
    public void setModified(String key, Instant time) throws IOException {
        Path p = existing(key);
        if (p == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file or folder");
        }
        Files.setLastModifiedTime(p, FileTime.from(time));
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        Path p = existing(dirKey);
        if (p == null) {
            return false;
        }
        if (!Files.isDirectory(p)) {
            throw ErrorCode.CONFLICT.exception("that is a file, not a folder");
        }
        try {
            return Files.deleteIfExists(p);
        } catch (DirectoryNotEmptyException e) {
            throw ErrorCode.NOT_EMPTY.exception("the folder is not empty");
        }
    }

    /**
     * Like {@code Files.isDirectory}, without the exception that Java's file API creates
     * (with its stack trace) for every path that does not exist, as a new upload's does.
     */
    private static boolean isFolder(Path p) {
        return p.toFile().isDirectory();
    }

    private void makeParents(Path target) throws IOException {
        if (isFolder(target.getParent())) {
            return;
        }
        try {
            Files.createDirectories(target.getParent());
        } catch (FileAlreadyExistsException | NotDirectoryException e) {
            throw ErrorCode.CONFLICT.exception("a file stands where a parent folder should be");
        }
    }

    @Override
    public void close() {
        // nothing held open
    }

    /**
     * A failed disk operation as a neutral error: the server's paths and the JDK's text go
     * to the log only. A full disk (or a file system quota) is {@link
     * ErrorCode#INSUFFICIENT_STORAGE}, anything else a backend failure.
     */
    static GatewayException failure(String what, IOException e) {
        if (e instanceof GatewayException g) {
            return g;
        }
        ErrorCode code = isFull(e) ? ErrorCode.INSUFFICIENT_STORAGE : ErrorCode.BACKEND_FAILED;
        return code.failure(what + " failed: " + e, e);
    }

    /** ENOSPC or EDQUOT: the JDK reports both only as text ("No space left on device"). */
    static boolean isFull(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /** An upload into a temporary file, renamed into place on commit. */
    private final class LocalUpload implements Upload {
        private final String key;
        private final Path target;
        private final Path part;
        private final FileChannel channel;
        private long written;
        private boolean done;
        private Instant modified;

        LocalUpload(String key, Path target, Path part, FileChannel channel) {
            this.key = key;
            this.target = target;
            this.part = part;
            this.channel = channel;
        }

        /** Page-cache writes take microseconds; handing them to another thread costs more. */
        @Override
        public boolean takesWithoutWaiting(int bytes) {
            return true;
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            if (done) {
                throw new IOException("the upload is already finished");
            }
            try {
                while (src.hasRemaining()) {
                    written += channel.write(src);
                }
            } catch (IOException e) {
                throw failure("writing " + part + " for " + key, e);
            }
        }

        @Override
        public long written() {
            return written;
        }

        /** The time goes on the part file before it is renamed into place. */
        @Override
        public boolean commitWithModified(Instant time) {
            modified = time;
            return true;
        }

        @Override
        public ObjectInfo commit() throws IOException {
            if (done) {
                throw new IOException("the upload is already finished");
            }
            try {
                channel.close();
                if (modified != null) {
                    Files.setLastModifiedTime(part, FileTime.from(modified));
                }
                makeParents(target);
                if (isFolder(target)) {
                    throw ErrorCode.CONFLICT.exception("a folder exists at that path");
                }
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                done = true;
                // target passed the root checks in create(); the file is the one just renamed
                return info(key, target, Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
            } catch (IOException e) {
                abort();
                throw failure("moving " + part + " to " + target, e);
            } catch (RuntimeException e) {
                abort();
                throw e;
            }
        }

        @Override
        public void abort() {
            if (done) {
                return;
            }
            done = true;
            try {
                channel.close();
                Files.deleteIfExists(part);
            } catch (IOException e) {
                org.slf4j.LoggerFactory.getLogger(LocalStorage.class).warn("could not remove {}: {}", part, e.toString());
            }
        }
    }
}
