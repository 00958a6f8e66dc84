//! Just enough JSON to merge pages: the members of an object and the elements of
//! an array as byte spans, copied verbatim (no re-encoding, no JSON library).
//! The session has already checked each page is one JSON object.

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

type Member<'a> = (&'a [u8], &'a [u8]);

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
fn skip_value(b: &[u8], i: usize) -> Result<usize, Malformed> {
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

/// `(key with its quotes, value)` for each member of the object `b`.
fn members(b: &[u8]) -> Result<Vec<Member<'_>>, Malformed> {
    let mut out = Vec::new();
    let mut i = ws(b, expect(b, ws(b, 0), b'{')?);
    if b.get(i) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = &b[i..key_end];
        let v = ws(b, expect(b, ws(b, key_end), b':')?);
        let v_end = skip_value(b, v)?;
        out.push((key, &b[v..v_end]));
        i = ws(b, v_end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Ok(out),
            _ => return Err(Malformed),
        }
    }
}

/// The elements of the array `b`.
fn elements(b: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let mut out = Vec::new();
    let mut i = ws(b, expect(b, 0, b'[')?);
    if b.get(i) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let end = skip_value(b, i)?;
        out.push(&b[i..end]);
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Ok(out),
            _ => return Err(Malformed),
        }
    }
}

/// Merges the pages of one list: the first page's members in order, except `next`,
/// with every array member holding the elements of that member on every page.
pub(crate) fn merge_pages(pages: &[&[u8]]) -> Result<Vec<u8>, Malformed> {
    let parsed = pages
        .iter()
        .map(|p| members(p))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = parsed.first() else {
        return Ok(b"{}".to_vec());
    };
    let mut out = Vec::with_capacity(pages.iter().map(|p| p.len()).sum());
    out.push(b'{');
    let mut comma = false;
    for (key, value) in first {
        if *key == b"\"next\"" {
            continue;
        }
        if comma {
            out.push(b',');
        }
        comma = true;
        out.extend_from_slice(key);
        out.push(b':');
        if !value.starts_with(b"[") {
            out.extend_from_slice(value);
            continue;
        }
        out.push(b'[');
        let mut first_item = true;
        for page in &parsed {
            let Some((_, list)) = page.iter().find(|(k, _)| k == key) else {
                continue;
            };
            for item in elements(list)? {
                if !first_item {
                    out.push(b',');
                }
                first_item = false;
                out.extend_from_slice(item);
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_lists_and_drops_next() {
        let p1 = br#"{ "first": {"href": "a"}, "keys": [ {"id":"1","s":"x]}\"y"} ], "limit": 1, "next": {"href":"b"}, "total_count": 2 }"#;
        let p2 = br#"{"first":{"href":"a"},"keys":[{"id":"2"}],"limit":1,"total_count":2}"#;
        let merged = merge_pages(&[p1, p2]).unwrap();
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            r#"{"first":{"href": "a"},"keys":[{"id":"1","s":"x]}\"y"},{"id":"2"}],"limit":1,"total_count":2}"#
        );
        let v: serde_json::Value =
            serde_json::from_slice(&merge_pages(&[p1, p2]).unwrap()).unwrap();
        assert_eq!(v["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn empty_and_malformed() {
        assert_eq!(merge_pages(&[b" {} "]).unwrap(), b"{}");
        assert_eq!(merge_pages(&[br#"{"a":[]}"#]).unwrap(), br#"{"a":[]}"#);
        for bad in [
            &b"{"[..],
            b"[1]",
            br#"{"a" 1}"#,
            br#"{"a":[1,}"#,
            br#"{"a":"x}"#,
            b"{}}",
        ] {
            if let Ok(v) = merge_pages(&[bad]) {
                // Trailing bytes after a complete object are ignored, nothing else.
                assert_eq!(v, b"{}", "{:?}", String::from_utf8_lossy(bad));
            }
        }
    }
}
