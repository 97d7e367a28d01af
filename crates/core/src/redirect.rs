//! Where the sign-in page may send the operator afterwards: only a path of this site.
//!
//! `?next=` is attacker-controlled (anyone can send a link to `/login?next=...`), and browsers
//! forgive a lot when they read a URL: they drop tabs and newlines, read `\` as `/`, and take
//! `//host` as another site. So a `next` is accepted only when it is plainly a path: it starts
//! with one `/`, holds only printable ASCII without `\`, and its path has no `.` or `..` segment
//! and hides no `/`, `\`, `.` or control character behind percent-encoding. The app also compares
//! origins with the browser's own URL parser (src/paths.rs); this grammar is what decides.

/// `next` when it is a same-site path by the grammar above, otherwise `None`.
pub fn same_site_path(next: &str) -> Option<&str> {
    let rest = next.strip_prefix('/')?;
    if rest.starts_with('/') {
        return None;
    }
    if !next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return None;
    }
    // Only the path part can move the origin; a query may hold anything encoded (a search for `a/b`).
    let path = next.split(['?', '#']).next().unwrap_or_default();
    // Dot segments: the URL parser folds `/.//host` into `//host`, which reads as another site.
    if path.contains("/./") || path.contains("/../") || path.ends_with("/.") || path.ends_with("/..") {
        return None;
    }
    let bytes = path.as_bytes();
    let hides_a_separator = bytes.iter().enumerate().filter(|(_, b)| **b == b'%').any(|(at, _)| {
        match (bytes.get(at + 1).map(u8::to_ascii_lowercase), bytes.get(at + 2).map(u8::to_ascii_lowercase)) {
            // %00-%1F and %7F: control characters; %2F `/`, %5C `\`, %2E `.` (a dot segment to the
            // parser), %25 `%` (encoded twice).
            (Some(b'0' | b'1'), Some(_)) | (Some(b'7'), Some(b'f')) => true,
            (Some(b'2'), Some(b'f' | b'e' | b'5')) | (Some(b'5'), Some(b'c')) => true,
            (Some(high), Some(low)) => !high.is_ascii_hexdigit() || !low.is_ascii_hexdigit(),
            _ => true,
        }
    });
    if hides_a_separator {
        return None;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn plain_paths_of_the_site_are_accepted() {
        for path in [
            "/",
            "/leads",
            "/leads?q=a",
            "/leads/42",
            "/inbox/7?status=closed#end",
            "/leads?q=M%C3%BCller",
            "/leads?q=a%2Fb%5Cc%09",
        ] {
            assert_eq!(same_site_path(path), Some(path), "{path}");
        }
    }

    #[test]
    fn anything_a_browser_could_read_as_another_site_is_refused() {
        for next in [
            "",
            "leads",
            "https://example.org",
            "//example.org",
            "///example.org",
            "/\\example.org",
            "\\/example.org",
            "/\t/example.org",
            "/\n/example.org",
            "/\r/example.org",
            "/%09/example.org",
            "/%0a/example.org",
            "/%0D/example.org",
            "/%2F/example.org",
            "/%2f%2fexample.org",
            "/%5C/example.org",
            "/%5c%5cexample.org",
            "/%252F/example.org",
            "/%00",
            "/%7f",
            "/%zz",
            "/%2",
            "/ /example.org",
            "/\u{a0}/example.org",
            "/\u{2028}/example.org",
            "/./example.org",
            "/../example.org",
            "/leads/..",
            "/%2e%2e/example.org",
            "/.%2E//example.org",
            "javascript:alert(1)",
            " /leads",
        ] {
            assert_eq!(same_site_path(next), None, "{next:?}");
        }
    }
}
