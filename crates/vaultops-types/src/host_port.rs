//! The one `host:port` check, and the split it is built on.

/// Splits `host:port` at its last `:` when what follows is a port number (`0`–`65535`);
/// `None` otherwise. The host may be empty or bracketed (`[::1]:8200` gives `[::1]`).
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    Some((host, port.parse::<u16>().ok()?))
}

/// Whether `s` is `host:port`: a non-empty host without whitespace or `/`, and a port number
/// (`0.0.0.0:8200`, `node1:8201`, `[::]:8200`, `blackbox-exporter:9115`).
pub fn is_host_port(s: &str) -> bool {
    split_host_port(s).is_some_and(|(host, _)| {
        !host.is_empty() && !host.chars().any(|c| c.is_whitespace() || c == '/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_accepted_and_refused() {
        for ok in [
            "0.0.0.0:8200",
            "node1:8201",
            "[::]:8200",
            "127.0.0.1:9",
            "blackbox-exporter:9115",
            "localhost:0",
        ] {
            assert!(is_host_port(ok), "{ok}");
        }
        for bad in [
            "",
            "node1",
            ":8200",
            "node1:",
            "node1:port",
            "node1:65536",
            "node1:-1",
            "my host:80",
            "http://node1:8200",
            "a/b:80",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
    }

    #[test]
    fn split_takes_the_last_colon() {
        assert_eq!(split_host_port("[::1]:8200"), Some(("[::1]", 8200)));
        assert_eq!(split_host_port("localhost:8200"), Some(("localhost", 8200)));
        assert_eq!(split_host_port("::1"), Some((":", 1)));
        assert_eq!(split_host_port("node1"), None);
        assert_eq!(split_host_port("node1:x"), None);
    }
}
