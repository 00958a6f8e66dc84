/// Parses an RFC 3339 UTC timestamp (`2025-06-10T11:08:39.363Z` or with an offset)
/// into seconds since the Unix epoch, fractions dropped.
///
/// ```
/// use vpc_imds_core::model::parse_rfc3339;
/// assert_eq!(parse_rfc3339("1970-01-02T00:00:01Z"), Some(86_401));
/// assert_eq!(parse_rfc3339("2025-09-01T12:10:00.000Z").zip(parse_rfc3339("2025-09-01T12:00:00Z"))
///     .map(|(a, b)| a - b), Some(600));
/// ```
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let r = rest.as_bytes();
            if r.len() != 6 || r[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn forms() {
        assert_eq!(parse_rfc3339("2021-10-19T16:11:57Z"), Some(1_634_659_917));
        assert_eq!(
            parse_rfc3339("2021-10-19T18:11:57+02:00"),
            Some(1_634_659_917)
        );
        for bad in [
            "2021-10-19",
            "2021-13-19T16:11:57Z",
            "2021-10-19T16:11:57",
            "2021-10-19T16:11:57.Z",
            "2021-10-19T16:11:57+0200",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
