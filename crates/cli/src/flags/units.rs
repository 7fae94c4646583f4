//! Sizes and durations in flags.

/// `"30m"` → (`"30"`, `"m"`).
fn number_and_unit(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

/// `30s`, `45m`, `6h`, `2d`: a unit is required (a bare `5` could mean minutes or hours).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (number, unit) = number_and_unit(s);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 30m, 6h, 2d)"))?;
    let scale = match unit {
        "" => {
            return Err(format!(
                "'{s}' needs a unit: {s}s, {s}m, {s}h or {s}d (seconds, minutes, hours, days)"
            ))
        }
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use s, m, h or d)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("'{s}' is too long"))
}

/// `512M`, `2G`, `1048576`, with K, M, G, T as powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (number, unit) = number_and_unit(s);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 512M, 2G)"))?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// A size as `--memory-budget` takes it, printed back (powers of 1024): `512 MiB`, `1.5 GiB`, `64 KiB`.
pub fn binary_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(
            parse_duration("5"),
            Err("'5' needs a unit: 5s, 5m, 5h or 5d (seconds, minutes, hours, days)".into())
        );
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert!(parse_size("1Q").is_err());
    }
}
