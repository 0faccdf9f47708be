//! Words quoted for `sh`, so that a command line srt writes (the library's
//! wrapped lines, the macOS `sandbox-exec` line) carries every byte as given.

/// Quotes a word of any bytes for `sh`, without loss (a path on disk need
/// not be UTF-8, and a lossy rendering would name another path): UTF-8 runs
/// as [`shell_quote`] does, each other byte as `"$(printf '\NNN')"` (POSIX,
/// unlike `$'...'`, which dash lacks).
pub fn shell_quote_bytes(word: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    if let Some(text) = word.to_str() {
        return shell_quote(text);
    }
    let mut out = String::new();
    for chunk in word.as_bytes().utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(&shell_quote(chunk.valid()));
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\"$(printf '\\{byte:03o}')\""));
        }
    }
    out
}

/// Quotes a word for `sh`: bare when it is plainly safe, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"_./:@+,=-".contains(&b);
    if !word.is_empty() && word.bytes().all(plain) && !word.starts_with('=') {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\"'\"'"))
}
