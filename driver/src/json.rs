//! Byte spans of JSON documents the core has already validated: the members of an
//! object, the elements of an array, and a [`Serialize`] view of any value that
//! reads it straight from the bytes (member order kept, no tree built).

use alloc::string::String;
use alloc::vec::Vec;

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use vpc_imds_core::text::{string_stop, Text};

/// The bytes are not the JSON expected there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// `(key with its quotes, value)`.
pub(crate) type Member<'a> = (&'a [u8], &'a [u8]);

fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

fn expect(b: &[u8], i: usize, c: u8) -> Result<usize, Malformed> {
    if b.get(i) == Some(&c) {
        Ok(i + 1)
    } else {
        Err(Malformed)
    }
}

/// End of the string starting at `i` (on its opening quote).
fn skip_string(b: &[u8], i: usize) -> Result<usize, Malformed> {
    let mut j = expect(b, i, b'"')?;
    loop {
        match b.get(j) {
            Some(b'\\') => j += 2,
            Some(b'"') => return Ok(j + 1),
            Some(_) => j += 1,
            None => return Err(Malformed),
        }
    }
}

/// End of the value starting at `i`.
pub(crate) fn skip_value(b: &[u8], i: usize) -> Result<usize, Malformed> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1).ok_or(Malformed)?;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(Malformed)
        }
        Some(_) => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
            {
                j += 1;
            }
            if j == i {
                Err(Malformed)
            } else {
                Ok(j)
            }
        }
        None => Err(Malformed),
    }
}

/// Whether every host's own JSON parser reads the document `b` as the same value:
/// every number is a finite double (what a JSON number can be in JavaScript's
/// `JSON.parse`, Python's `float`, Kotlin's `Double`, so `1e999` fails the same way
/// in all of them) and every string's escapes decode to Unicode (no lone surrogate,
/// which `JSON.parse` and `json.loads` would keep and Go's decoder would replace). A
/// host may then parse a generic GET's body with its own parser, the fastest it
/// has. `b` is already validated JSON.
///
/// ```
/// use vpc_imds_driver::json::every_host_reads_alike;
/// assert!(every_host_reads_alike(br#"{"a":[1,-2.5,1e308,"1e999"],"b":1E2}"#));
/// assert!(!every_host_reads_alike(br#"{"a":1e309}"#));
/// assert!(!every_host_reads_alike(br#"[-1E400]"#));
/// let long = format!("[{}]", "9".repeat(400));
/// assert!(!every_host_reads_alike(long.as_bytes()));
/// assert!(every_host_reads_alike(format!("[{}]", "9".repeat(300)).as_bytes()));
/// assert!(every_host_reads_alike(br#"{"a":"\u00e9\ud83d\ude00","b":[1,2.5]}"#));
/// assert!(!every_host_reads_alike(br#"{"a":"\ud800"}"#));
/// assert!(!every_host_reads_alike(br#"{"a":"x\udc00y"}"#));
/// assert!(!every_host_reads_alike(br#"{"a":1e999}"#));
/// // Escapes past the first eight bytes of a string; digits inside strings are text.
/// assert!(every_host_reads_alike(br#"{"long key, more than 8":"1e999 \"q\" \u00e9 9e999"}"#));
/// assert!(!every_host_reads_alike(br#"{"long key, more than 8":"\"q\" \ud800"}"#));
/// ```
pub fn every_host_reads_alike(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                // One pass to the closing quote, noting a `\u` escape: only those can fail.
                let mut j = i + 1;
                let mut unicode = false;
                loop {
                    j = string_stop(b, j);
                    match b.get(j) {
                        Some(b'\\') => {
                            unicode |= b.get(j + 1) == Some(&b'u');
                            j += 2;
                        }
                        Some(b'"') => break,
                        Some(_) => j += 1, // a control byte (the core refuses those)
                        None => return false,
                    }
                }
                if unicode && !string_decodes(b.get(i + 1..j).unwrap_or_default()) {
                    return false;
                }
                i = j + 1;
            }
            b'-' | b'0'..=b'9' => {
                let mut end = i + 1;
                while b
                    .get(end)
                    .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    end += 1;
                }
                if !fits_double(b.get(i..end).unwrap_or_default()) {
                    return false;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    true
}

/// Whether a string's contents (between its quotes) decode to Unicode.
fn string_decodes(inner: &[u8]) -> bool {
    match core::str::from_utf8(inner) {
        Ok(raw) => Text::from_raw(raw).chars().all(|c| c.is_ok()),
        Err(_) => false,
    }
}

/// The digits of the least number that a double rounds to infinity: halfway between
/// `f64::MAX` and 2^1024, i.e. (2^54 - 1) * 2^970, a 309-digit integer.
const OVERFLOW: &[u8] = b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

/// Whether the JSON number `n` rounds to a finite double, from its digits alone
/// (no float parsing: it would add ~15 KB to the static command line).
fn fits_double(n: &[u8]) -> bool {
    let n = n.strip_prefix(b"-").unwrap_or(n);
    // No exponent and at most 308 digits before the point: below 10^308.
    if n.len() <= 308 && !n.iter().any(|&c| c == b'e' || c == b'E') {
        return true;
    }
    let (mantissa, exp) = match n.iter().position(|&c| c == b'e' || c == b'E') {
        Some(e) => (&n[..e], n.get(e + 1..).unwrap_or_default()),
        None => (n, &b""[..]),
    };
    let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
        Some(d) => (&mantissa[..d], mantissa.get(d + 1..).unwrap_or_default()),
        None => (mantissa, &b""[..]),
    };
    // The significant digits, and the power of ten of the first one.
    let lead = int.iter().take_while(|&&c| c == b'0').count();
    let (digits, mut power): (alloc::vec::Vec<u8>, i64) = if lead < int.len() {
        let digits = int[lead..].iter().chain(frac).copied().collect();
        (digits, (int.len() - lead) as i64 - 1)
    } else {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros == frac.len() {
            return true; // zero
        }
        (frac[zeros..].to_vec(), -(zeros as i64) - 1)
    };
    let (sign, exp) = match exp.first() {
        Some(b'-') => (-1, &exp[1..]),
        Some(b'+') => (1, &exp[1..]),
        _ => (1, exp),
    };
    let mut e: i64 = 0;
    for &c in exp {
        e = (e * 10 + i64::from(c.wrapping_sub(b'0'))).min(1 << 40);
    }
    power += sign * e;
    match power.cmp(&308) {
        core::cmp::Ordering::Less => true,
        core::cmp::Ordering::Greater => false,
        // Same power: below the halfway point, digit by digit (missing digits are 0).
        core::cmp::Ordering::Equal => {
            let len = digits.len().max(OVERFLOW.len());
            let at = |d: &[u8], i: usize| d.get(i).copied().unwrap_or(b'0');
            (0..len)
                .map(|i| at(&digits, i).cmp(&at(OVERFLOW, i)))
                .find(|o| o.is_ne())
                .is_some_and(|o| o.is_lt())
        }
    }
}

/// `(key with its quotes, value)` for each member of the object `b`.
pub(crate) fn members(b: &[u8]) -> Result<Vec<Member<'_>>, Malformed> {
    let mut out = Vec::new();
    let mut i = ws(b, expect(b, ws(b, 0), b'{')?);
    if b.get(i) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = b.get(i..key_end).ok_or(Malformed)?;
        let v = ws(b, expect(b, ws(b, key_end), b':')?);
        let v_end = skip_value(b, v)?;
        out.push((key, b.get(v..v_end).ok_or(Malformed)?));
        i = ws(b, v_end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Ok(out),
            _ => return Err(Malformed),
        }
    }
}

/// The elements of the array `b`.
pub(crate) fn elements(b: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let mut out = Vec::new();
    let mut i = ws(b, expect(b, 0, b'[')?);
    if b.get(i) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let end = skip_value(b, i)?;
        out.push(b.get(i..end).ok_or(Malformed)?);
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Ok(out),
            _ => return Err(Malformed),
        }
    }
}

/// A JSON document's bytes serialized as the value they hold: objects as maps in
/// member order, arrays as sequences, strings decoded, integers as `u64`/`i64`
/// (beyond those, as `f64`), other numbers as `f64`. For bytes the core has
/// already validated (a generic GET's body, a merged list): it does not re-check
/// the JSON grammar, and fails (never panics) on what it cannot read.
#[derive(Clone, Copy, Debug)]
pub struct JsonValue<'a>(pub &'a [u8]);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bad = || S::Error::custom("the JSON document cannot be represented");
        let v = trim(self.0);
        match v.first() {
            Some(b'{') => {
                let members = members(v).map_err(|_| bad())?;
                let mut map = s.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(&JsonValue(key), &JsonValue(value))?;
                }
                map.end()
            }
            Some(b'[') => {
                let items = elements(v).map_err(|_| bad())?;
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonValue(item))?;
                }
                seq.end()
            }
            Some(b'"') => {
                let inner = v.get(1..v.len() - 1).ok_or_else(bad)?;
                let raw = core::str::from_utf8(inner).map_err(|_| bad())?;
                let text: String = Text::from_raw(raw)
                    .chars()
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad())?;
                s.serialize_str(&text)
            }
            Some(b't') if v == b"true" => s.serialize_bool(true),
            Some(b'f') if v == b"false" => s.serialize_bool(false),
            Some(b'n') if v == b"null" => s.serialize_none(),
            Some(_) => {
                let n = core::str::from_utf8(v).map_err(|_| bad())?;
                if !n.contains(['.', 'e', 'E']) {
                    if let Ok(u) = n.parse::<u64>() {
                        return s.serialize_u64(u);
                    }
                    if let Ok(i) = n.parse::<i64>() {
                        return s.serialize_i64(i);
                    }
                }
                match n.parse::<f64>() {
                    Ok(f) if f.is_finite() => s.serialize_f64(f),
                    _ => Err(bad()),
                }
            }
            None => Err(bad()),
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = ws(b, 0);
    let mut end = b.len();
    while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        end -= 1;
    }
    b.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// The digit rule agrees with a float parse, most of all around the boundary.
    #[test]
    fn fits_double_agrees_with_parsing() {
        use alloc::format;
        use alloc::string::String;
        let mut cases: Vec<String> = [
            "0", "-0", "0.0", "1", "1e308", "1.7976931348623157e308", "1.7976931348623158e308",
            "1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649e308",
            "1.797693134862315807937289714053034150799341327100378269361737789804449682927647509466489e308",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
            "1e309", "1E+309", "10e307", "0.1e310", "0.01e310", "1e-400", "-1e999",
            "1e99999999999999999999", "0.000000e500", "123.456e-7", "9e307",
        ]
        .iter()
        .map(|s| String::from(*s))
        .collect();
        for d in 0..10u8 {
            cases.push(format!("1.79769313486231{d}e308"));
            cases.push(format!("{}e-2", "9".repeat(300 + usize::from(d))));
        }
        for case in cases {
            let parsed = case.parse::<f64>().map(f64::is_finite).unwrap_or(false);
            assert_eq!(super::fits_double(case.as_bytes()), parsed, "{case}");
        }
    }

    use super::*;

    #[test]
    fn raw_json_keeps_order_and_decodes() {
        let doc = br#" {"z": [1, -2, 1.5e3, 18446744073709551616], "a": {"s": "x\u00e9\n"}, "t": true, "n": null} "#;
        let v = serde_json::to_string(&JsonValue(doc)).unwrap();
        assert_eq!(
            v,
            r#"{"z":[1,-2,1500.0,1.8446744073709552e+19],"a":{"s":"xé\n"},"t":true,"n":null}"#
        );
        let huge = alloc::format!("{{\"n\":1{}}}", "0".repeat(400));
        assert!(serde_json::to_string(&JsonValue(huge.as_bytes())).is_err());
    }
}
