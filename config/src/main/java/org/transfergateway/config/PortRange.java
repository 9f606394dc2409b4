package org.transfergateway.config;

/** An inclusive range of TCP ports, written {@code 50000-50100} (or one port). */
public record PortRange(int first, int last) {

    public PortRange {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException(first + "-" + last + " is not a range of ports 1-65535");
        }
    }

    static PortRange parse(String text) {
        String[] parts = text.trim().split("\\s*-\\s*", -1);
        try {
            if (parts.length == 1) {
                int port = Integer.parseInt(parts[0]);
                return new PortRange(port, port);
            }
            if (parts.length == 2) {
                return new PortRange(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
            }
        } catch (NumberFormatException e) {
            // fall through to the common message
        }
        throw new IllegalArgumentException(text + " is not a range of ports such as 50000-50100");
    }

    /** The form MINA FtpServer and users write. */
    @Override
    public String toString() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }
}
