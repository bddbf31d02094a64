//! The one duration parser, and the dialects the tree accepts, each a predicate over its
//! result.
//!
//! [`parse`] reads what a duration looks like: a bare number (`3600`), or one or more
//! `<number><unit>` parts (`1h30m`, `1.5s`) with the units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`
//! and `d`. It decides nothing about meaning; the dialects do:
//!
//! | dialect | who reads it | accepts |
//! |---|---|---|
//! | [`is_go_duration`] | Go's `time.ParseDuration` (server config fields) | parts without `d`, fractions allowed; `0` alone |
//! | [`is_server_duration`] | the servers' `parseutil.ParseDurationSecond` | a Go duration, whole seconds (`3600`), or whole days (`7d`) |
//! | [`whole_secs`] | rollout-file TTLs, TTLs the API answers | whole seconds, or whole parts in `d`/`h`/`m`/`s` (`1d12h`), as a number of seconds |
//! | [`is_prometheus_duration`] | `prometheus.yml` (`scrape_interval`) | one whole part in `ms`, `s`, `m` or `h` (`15s`) |
//!
//! None of them takes a sign (`-1s`) or spaces inside (`5 s`).

/// A unit of one duration part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Nanos,
    Micros,
    Millis,
    Secs,
    Mins,
    Hours,
    Days,
}

impl Unit {
    /// Spellings, longest first where one is a prefix of another (`ms` before `m` and `s`).
    const SPELLINGS: [(&'static str, Unit); 8] = [
        ("ns", Unit::Nanos),
        ("us", Unit::Micros),
        ("µs", Unit::Micros),
        ("ms", Unit::Millis),
        ("s", Unit::Secs),
        ("m", Unit::Mins),
        ("h", Unit::Hours),
        ("d", Unit::Days),
    ];

    /// Seconds per unit, for the units of whole seconds (`s`, `m`, `h`, `d`).
    fn whole_secs(self) -> Option<u64> {
        match self {
            Unit::Secs => Some(1),
            Unit::Mins => Some(60),
            Unit::Hours => Some(3_600),
            Unit::Days => Some(86_400),
            Unit::Nanos | Unit::Micros | Unit::Millis => None,
        }
    }
}

/// One `<number><unit>` part; `number` as written: digits with at most one `.` (`1.5`, `.5`,
/// `1.`, as Go allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part<'a> {
    pub number: &'a str,
    pub unit: Unit,
}

impl Part<'_> {
    /// The number when it is whole (digits only).
    fn whole(&self) -> Option<u64> {
        if self.number.bytes().all(|b| b.is_ascii_digit()) {
            self.number.parse().ok()
        } else {
            None
        }
    }
}

/// A duration as written, before a dialect decides whether it means something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<'a> {
    /// A number without a unit (`3600`, `0`, `1.5`).
    Number(&'a str),
    /// One or more parts with units (`1h30m`).
    Parts(Vec<Part<'a>>),
}

/// Reads `text` (not trimmed) as a bare number or a sequence of `<number><unit>` parts;
/// `None` when it is neither (empty, a sign, spaces, an unknown unit, a number without a unit
/// after other parts such as `1h30`, a number with two dots).
pub fn parse(text: &str) -> Option<Written<'_>> {
    if text.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[end..];
        if rest.is_empty() && parts.is_empty() {
            return Some(Written::Number(number));
        }
        let (spelling, unit) = Unit::SPELLINGS.iter().find(|(s, _)| rest.starts_with(s))?;
        rest = &rest[spelling.len()..];
        parts.push(Part {
            number,
            unit: *unit,
        });
    }
    Some(Written::Parts(parts))
}

/// Whether `s` parses as an (unsigned) Go `time.Duration`: one or more `<number><unit>` with
/// units ns, us, µs, ms, s, m, h, fractions allowed; `"0"` alone is also valid.
pub fn is_go_duration(s: &str) -> bool {
    s == "0"
        || matches!(parse(s), Some(Written::Parts(parts))
            if parts.iter().all(|p| p.unit != Unit::Days))
}

/// Whether `s` is a duration as the servers parse it (`parseutil.ParseDurationSecond`): a Go
/// duration, a whole number of seconds, or a whole number of days with `d`.
pub fn is_server_duration(s: &str) -> bool {
    is_go_duration(s)
        || match parse(s) {
            Some(Written::Number(n)) => n.bytes().all(|b| b.is_ascii_digit()),
            Some(Written::Parts(parts)) => {
                matches!(parts.as_slice(), [p] if p.unit == Unit::Days && p.whole().is_some())
            }
            None => false,
        }
}

/// A duration in whole seconds, written as a number of seconds (`3600`) or as whole parts
/// in `d`, `h`, `m`, `s` (`24h`, `1h30m`, `7d`); surrounding whitespace is ignored. `None`
/// for anything else (fractions, sub-second units, a trailing number without unit) and on
/// overflow.
pub fn whole_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    // Read like `u64::from_str` so that a leading `+` (`"+5"`) keeps meaning 5 seconds, as it
    // did before this parser was shared.
    if let Ok(n) = t.parse::<u64>() {
        return Some(n);
    }
    let Written::Parts(parts) = parse(t)? else {
        return None;
    };
    parts.iter().try_fold(0u64, |total, p| {
        total.checked_add(p.whole()?.checked_mul(p.unit.whole_secs()?)?)
    })
}

/// Whether `s` is a Prometheus duration as the generated `prometheus.yml` writes them: one
/// whole number with the unit `ms`, `s`, `m` or `h` (`15s`, `1m`).
pub fn is_prometheus_duration(s: &str) -> bool {
    matches!(parse(s), Some(Written::Parts(parts)) if matches!(parts.as_slice(),
        [p] if p.whole().is_some()
            && matches!(p.unit, Unit::Millis | Unit::Secs | Unit::Mins | Unit::Hours)))
}

/// Formats seconds the way operators write them: `24h`, `1h30m`, `90s` → `1m30s`, `0`.
pub fn format_secs(secs: u64) -> String {
    if secs == 0 {
        return "0".to_owned();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in [
            "0", "1s", "500ms", "24h", "1h30m", "1.5s", "10us", "3µs", "7ns", "1.s", ".5s",
        ] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in [
            "", "1", "s", "1d", "5 s", "-1s", "1.2.3s", ".s", "1sx", "00", "3600", "1h30",
        ] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn durations_as_the_servers_parse_them() {
        for ok in ["10s", "24h", "1h30m", "3600", "7d", "0", "1.5s"] {
            assert!(is_server_duration(ok), "{ok}");
        }
        for bad in ["", "1 week", "d", "10x", "-1s", "1.5d", "1d12h", "1.5"] {
            assert!(!is_server_duration(bad), "{bad}");
        }
    }

    #[test]
    fn whole_seconds() {
        assert_eq!(whole_secs("24h"), Some(86_400));
        assert_eq!(whole_secs("1h30m"), Some(5_400));
        assert_eq!(whole_secs("7d"), Some(604_800));
        assert_eq!(whole_secs("2d"), Some(172_800));
        assert_eq!(whole_secs("1d12h"), Some(129_600));
        assert_eq!(whole_secs("45"), Some(45));
        assert_eq!(whole_secs("0"), Some(0));
        assert_eq!(whole_secs(" 90s "), Some(90));
        assert_eq!(whole_secs("+5"), Some(5));
        for bad in [
            "",
            "1.5h",
            "1h30",
            "300ms",
            "h",
            "-1",
            "1w",
            "1 h",
            "10us",
            "99999999999999999999",
            "9999999999999999999d",
        ] {
            assert_eq!(whole_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn prometheus_durations() {
        for ok in ["15s", "1m", "500ms", "2h", "015s"] {
            assert!(is_prometheus_duration(ok), "{ok}");
        }
        for bad in ["", "15", "1h30m", "1.5s", "15S", "7d", "10us", "15µs", "s"] {
            assert!(!is_prometheus_duration(bad), "{bad}");
        }
    }

    #[test]
    fn seconds_are_formatted_as_operators_write_them() {
        assert_eq!(format_secs(86_400), "24h");
        assert_eq!(format_secs(172_800), "48h");
        assert_eq!(format_secs(5_400), "1h30m");
        assert_eq!(format_secs(90), "1m30s");
        assert_eq!(format_secs(0), "0");
    }
}
