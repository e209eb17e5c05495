//! nats-server releases: reading a version string, and which releases
//! carry the issue 6455 leak. A leaf, so that the configuration (which
//! checks the versions it is given) and the detector share it.

/// `major.minor.patch` of a version string (`2.10.25`, `v2.10.26-RC.3`,
/// `2.11.0-beta`); the pre-release part is ignored.
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let core = v.split(['-', '+', ' ']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().unwrap_or("0").parse().ok()?;
    Some((major, minor, patch))
}

/// Whether this release re-reserves `max_bytes` on every stream reset
/// (nats-server issue 6455, fixed by PR 6457 in 2.10.26 and 2.11.0).
/// Release candidates of 2.10.26 carry the fix, so the pre-release part is
/// ignored. `None` when the version cannot be read.
pub fn known_leak(version: &str) -> Option<bool> {
    parse_version(version).map(|v| v < (2, 10, 26))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leak_by_version() {
        let table = [
            ("2.10.25", Some(true)),
            ("2.10.0", Some(true)),
            ("2.9.25", Some(true)),
            ("v2.10.24", Some(true)),
            ("2.10.26", Some(false)),
            ("2.10.26-RC.1", Some(false)),
            ("2.11.0", Some(false)),
            ("2.11.0-RC.2", Some(false)),
            ("2.12.15", Some(false)),
            ("2.14.5", Some(false)),
            ("3.0", Some(false)),
            ("", None),
            ("latest", None),
            ("2", None),
        ];
        for (v, want) in table {
            assert_eq!(known_leak(v), want, "{v}");
        }
    }
}
