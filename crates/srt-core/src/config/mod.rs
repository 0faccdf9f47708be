//! Settings: parsing, validation, loading and what this build can enforce.

mod admit;
mod defaults;
mod load;
mod schema;
mod support;
mod validate;

use std::fmt;

pub use admit::{admit, parse_failure, NUL_IN_PATH};
pub use defaults::{default_write_paths, named_tmpdir, HOME_WRITE_PATHS, SHARED_TMPDIR};
pub use load::{load_settings_file, SettingsSource};
pub use schema::*;
pub use support::check_supported;
pub use validate::validate;

/// One problem with a settings document, located by its key path
/// (`network.allowedDomains[2]`, or `(root)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(root)" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// A settings document that parsed and validated.
#[derive(Clone, Debug)]
pub struct ParsedSettings {
    pub settings: Settings,
    /// Keys we do not know, by path: reported, not fatal (a typo must not pass unseen).
    pub unknown_keys: Vec<String>,
}

/// Why a settings document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON at all: the parser's message.
    Json(String),
    /// JSON, but not a valid config: every issue found.
    Invalid(Vec<Issue>),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(m) => write!(f, "not valid JSON: {m}"),
            ParseError::Invalid(issues) => {
                let parts: Vec<String> = issues.iter().map(ToString::to_string).collect();
                write!(f, "not a valid config: {}", parts.join("; "))
            }
        }
    }
}

/// Parses and validates a settings document (JSON text).
pub fn parse_settings(text: &str) -> Result<ParsedSettings, ParseError> {
    // Syntax first, so "not JSON" and "not a valid config" stay distinct.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ParseError::Json(strip_location(&e.to_string())))?;
    if !value.is_object() {
        return Err(ParseError::Invalid(vec![Issue {
            path: String::new(),
            message: "a config must be a JSON object".into(),
        }]));
    }
    // Every missing required key at once (serde would stop at the first).
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(json_schema);
    let mut missing = Vec::new();
    missing_required(schema, schema, &value, "", &mut missing);
    if !missing.is_empty() {
        // And what else is wrong, judged with the missing keys stood in for.
        let mut patched = value;
        fill_required(schema, schema, &mut patched);
        if let Err(ParseError::Invalid(more)) = parse_value(patched) {
            let more: Vec<Issue> = more.into_iter().filter(|i| !missing.iter().any(|m| m.path == i.path)).collect();
            missing.extend(more);
        }
        return Err(ParseError::Invalid(missing));
    }
    parse_value(value)
}

/// Deserializes and validates a JSON object.
fn parse_value(value: serde_json::Value) -> Result<ParsedSettings, ParseError> {
    let mut unknown_keys = Vec::new();
    let mut on_unknown = |path: serde_ignored::Path<'_>| unknown_keys.push(path.to_string());
    let ignored = serde_ignored::Deserializer::new(value, &mut on_unknown);
    let settings: Settings = serde_path_to_error::deserialize(ignored).map_err(|e| {
        let path = e.path().to_string();
        ParseError::Invalid(vec![type_issue(&path, &e.into_inner().to_string())])
    })?;
    let issues = validate(&settings);
    if !issues.is_empty() {
        return Err(ParseError::Invalid(issues));
    }
    Ok(ParsedSettings { settings, unknown_keys })
}

/// The required keys missing from `value`, by the JSON Schema, in objects
/// at any depth (a value of the wrong type is left to serde to report).
fn missing_required(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
    out: &mut Vec<Issue>,
) {
    let Some(object) = value.as_object() else { return };
    let Some(schema) = object_schema(root, schema) else { return };
    let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    for key in schema.get("required").and_then(|r| r.as_array()).into_iter().flatten().filter_map(|k| k.as_str()) {
        if !object.contains_key(key) {
            out.push(Issue { path: join(key), message: "is required".into() });
        }
    }
    let properties = schema.get("properties").and_then(|p| p.as_object());
    for (key, inner) in object {
        if let Some(inner_schema) = properties.and_then(|p| p.get(key)) {
            missing_required(root, inner_schema, inner, &join(key), out);
        }
    }
}

/// Puts an empty list or object where a required key is missing.
fn fill_required(root: &serde_json::Value, schema: &serde_json::Value, value: &mut serde_json::Value) {
    let Some(object) = value.as_object_mut() else { return };
    let Some(schema) = object_schema(root, schema) else { return };
    let properties = schema.get("properties").and_then(|p| p.as_object());
    for key in schema.get("required").and_then(|r| r.as_array()).into_iter().flatten().filter_map(|k| k.as_str()) {
        let inner = properties.and_then(|p| p.get(key));
        let empty = if inner.is_some_and(|i| object_schema(root, i).is_some()) {
            serde_json::json!({})
        } else {
            serde_json::json!([])
        };
        object.entry(key).or_insert(empty);
    }
    for (key, inner) in object.iter_mut() {
        if let Some(inner_schema) = properties.and_then(|p| p.get(key)) {
            fill_required(root, inner_schema, inner);
        }
    }
}

/// The object schema behind `$ref`s and an optional's `anyOf [.., null]`.
fn object_schema<'a>(root: &'a serde_json::Value, schema: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
    if let Some(target) = schema.get("$ref").and_then(|r| r.as_str()) {
        let name = target.strip_prefix("#/$defs/")?;
        return object_schema(root, root.get("$defs")?.get(name)?);
    }
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    let options = schema.get("anyOf").or_else(|| schema.get("oneOf"))?.as_array()?;
    options.iter().find_map(|o| object_schema(root, o))
}

/// Turns serde's message into ours: a missing field is reported at its own path.
fn type_issue(path: &str, message: &str) -> Issue {
    let path = if path == "." { "" } else { path };
    if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        let full = if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
        return Issue { path: full, message: "is required".into() };
    }
    Issue { path: path.to_string(), message: strip_location(message) }
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => format!("{} ({})", &message[..at], &message[at + 4..]),
        None => message.to_string(),
    }
}

/// The closest known key to an unknown one, from the JSON Schema, for "did you mean".
pub fn suggest_key(unknown_path: &str) -> Option<String> {
    let schema = json_schema();
    let mut node = &schema;
    let segments: Vec<&str> = unknown_path.split('.').collect();
    let (last, parents) = segments.split_last()?;
    for segment in parents {
        let name = segment.split('[').next().unwrap_or(segment);
        node = resolve_ref(&schema, node.get("properties")?.get(name)?);
        if segment.contains('[') {
            node = resolve_ref(&schema, node.get("items")?);
        }
        node = any_of_object(&schema, node);
    }
    let known = node.get("properties")?.as_object()?;
    known
        .keys()
        .map(|k| (edit_distance(&k.to_lowercase(), &last.to_lowercase()), k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k.clone())
}

fn resolve_ref<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => root.get("$defs").and_then(|d| d.get(name)).unwrap_or(node),
        None => node,
    }
}

/// `Option<T>` fields render as `anyOf: [T, null]`: step into the object branch.
fn any_of_object<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    node.get("anyOf")
        .and_then(|a| a.as_array())
        .and_then(|branches| branches.iter().map(|b| resolve_ref(root, b)).find(|b| b.get("properties").is_some()))
        .unwrap_or(node)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
