//! How the host words things for people: plurals, and times cut from the
//! core's RFC 3339 text ([`resetwatch::clock::rfc3339`]: always
//! `yyyy-mm-ddThh:mm:ss.ffffff` then `Z` or `±hh:mm`), so the slice
//! positions are written once. A leaf: it uses no other module of the crate.

use resetwatch::clock::{rfc3339, Micros};

/// Where the zone starts in [`rfc3339`]'s text (after the microseconds).
const ZONE_AT: usize = 26;

/// `""` for one, `"s"` for any other count.
pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// nats-server's own `yyyy/mm/dd hh:mm:ss.ffffff` of `t`, in UTC.
pub fn nats_time(t: Micros) -> String {
    let s = rfc3339(t, 0);
    format!("{} {}", s[..10].replace('-', "/"), &s[11..ZONE_AT])
}

/// `UTC`, or `UTC+01:00` for a zone `offset` µs east of it.
pub fn zone(offset: Micros) -> String {
    if offset == 0 {
        "UTC".into()
    } else {
        let s = rfc3339(0, offset);
        format!("UTC{}", &s[ZONE_AT..])
    }
}

/// `2026-11-26T14:17:08+01:00`: to the second, with its zone (`Z` in UTC).
pub fn seconds_with_zone(t: Micros, offset: Micros) -> String {
    let s = rfc3339(t, offset);
    format!("{}{}", &s[..19], &s[ZONE_AT..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_cut_from_the_cores_rfc_3339() {
        let t = resetwatch::clock::parse_rfc3339(b"2026-11-26T14:17:08.682791Z").unwrap().0;
        assert_eq!(nats_time(t), "2026/11/26 14:17:08.682791");
        assert_eq!(seconds_with_zone(t, 0), "2026-11-26T14:17:08Z");
        assert_eq!(seconds_with_zone(t, 3_600_000_000), "2026-11-26T15:17:08+01:00");
        assert_eq!(zone(0), "UTC");
        assert_eq!(zone(-5_400_000_000), "UTC-01:30");
        assert_eq!(plural(1), "");
        assert_eq!(plural(0), "s");
    }
}
