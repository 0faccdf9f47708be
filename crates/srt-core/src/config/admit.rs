//! The settings pipeline after parsing, one for every front end: what this
//! build cannot enforce refuses the settings; unknown keys and keys that
//! mean nothing here become remarks, which each front end shows its way.

use super::{check_supported, suggest_key, ParseError, ParsedSettings, Settings};
use crate::error::{Error, ErrorCode};

/// The message a path holding a NUL character gets (its own error code).
pub const NUL_IN_PATH: &str = "a path cannot contain a NUL character";

/// Settings that may be used.
#[derive(Clone, Debug)]
pub struct Admitted {
    pub settings: Settings,
    /// Unknown keys, each with the key it most likely meant.
    pub warnings: Vec<String>,
    /// Keys of the original that configure nothing srt-rs uses, or only matter elsewhere.
    pub notes: Vec<String>,
}

/// Admits parsed settings. `shown` names them in messages (a file's path,
/// or "the config").
pub fn admit(parsed: ParsedSettings, shown: &str) -> Result<Admitted, Error> {
    let (refused, notices) = check_supported(&parsed.settings);
    if !refused.is_empty() {
        let mut lines = vec![format!("{shown} asks for what this srt cannot enforce:")];
        lines.extend(refused.iter().map(|i| format!("  {i}")));
        return Err(Error::refused(ErrorCode::UnsupportedConfig, &lines));
    }
    let warnings = parsed
        .unknown_keys
        .iter()
        .map(|key| {
            let hint = suggest_key(key).map(|k| format!(" (did you mean \"{k}\"?)")).unwrap_or_default();
            format!("{shown}: unknown key \"{key}\" ignored{hint}")
        })
        .collect();
    let notes = notices.iter().map(|n| format!("{shown}: {n}")).collect();
    Ok(Admitted { settings: parsed.settings, warnings, notes })
}

/// A settings document given as text (the library's) that did not parse.
pub fn parse_failure(e: ParseError) -> Error {
    match e {
        ParseError::Json(m) => Error::new(ErrorCode::InvalidConfig, format!("the config is not valid JSON: {m}")),
        ParseError::Invalid(issues) => {
            let code = if issues.iter().any(|i| i.message == NUL_IN_PATH) {
                ErrorCode::NulInPath
            } else {
                ErrorCode::InvalidConfig
            };
            let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
            Error::new(code, format!("invalid sandbox config:\n  {}", lines.join("\n  ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_settings;
    use super::*;

    fn doc(extra: &str) -> String {
        format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": []{extra}}}, "filesystem": {{"denyRead": [], "allowWrite": [], "denyWrite": []}}}}"#
        )
    }

    #[test]
    fn refuses_what_it_cannot_enforce_and_remarks_on_the_rest() {
        let e = admit(parse_settings(&doc(r#", "filterRequest": "allow""#)).unwrap(), "s.json").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedConfig);
        assert!(e.message.starts_with("s.json asks for what this srt cannot enforce:"), "{e}");
        assert!(
            e.message.contains("network.filterRequest: filterRequest must be a function")
                && e.message.ends_with(crate::error::REFUSAL)
        );
        let ok = admit(parse_settings(&doc(r#", "alowedDomains": []"#)).unwrap(), "s.json").unwrap();
        assert_eq!(
            ok.warnings,
            ["s.json: unknown key \"network.alowedDomains\" ignored (did you mean \"allowedDomains\"?)"]
        );
    }

    #[test]
    fn a_nul_in_a_path_has_its_own_code() {
        let nul = r#"{"network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": {"denyRead": ["/a\u0000b"], "allowWrite": [], "denyWrite": []}}"#;
        assert_eq!(parse_failure(parse_settings(nul).unwrap_err()).code, ErrorCode::NulInPath);
        assert_eq!(parse_failure(parse_settings("{").unwrap_err()).code, ErrorCode::InvalidConfig);
        assert_eq!(parse_failure(parse_settings(r#"{"network": {}}"#).unwrap_err()).code, ErrorCode::InvalidConfig);
    }
}
