//! Writing a `StsToken` profile into the aliyun CLI's configuration (`~/.aliyun/config.json`:
//! `{"current": ..., "profiles": [{"name": ..., "mode": ..., ...}], "meta_path": ...}`, written
//! by the CLI itself as tab-indented JSON).
//!
//! The edit is textual: the document is located as byte spans, and only the values of `mode`,
//! `access_key_id`, `access_key_secret` and `sts_token` of the named profile are replaced (or
//! inserted, or the profile appended to `profiles`). Every other byte of the file stays as it
//! was: other profiles, unknown keys, key order, indentation, `current`. A file that is not
//! valid JSON, or has no `profiles` array, is refused and left alone. The new file replaces the
//! old one atomically with mode 0600.

use std::path::{Path, PathBuf};

use super::files::write_private_atomically;

/// The fields written for the profile, in the order the aliyun CLI writes them.
const FIELDS: [&str; 4] = ["mode", "access_key_id", "access_key_secret", "sts_token"];

/// A `StsToken` profile to write.
#[derive(Debug, Clone)]
pub struct StsProfile<'a> {
    /// Profile name.
    pub name: &'a str,
    /// AccessKeyId.
    pub access_key_id: &'a str,
    /// AccessKeySecret.
    pub access_key_secret: &'a str,
    /// SecurityToken.
    pub sts_token: &'a str,
    /// `region_id` for a profile created here (an existing profile keeps its own).
    pub region_id: &'a str,
}

impl StsProfile<'_> {
    fn value(&self, field: &str) -> &str {
        match field {
            "mode" => "StsToken",
            "access_key_id" => self.access_key_id,
            "access_key_secret" => self.access_key_secret,
            _ => self.sts_token,
        }
    }
}

/// Why the configuration could not be updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliyunConfigError {
    /// Not JSON.
    #[error("is not valid JSON ({0})")]
    NotJson(String),
    /// JSON, but not the aliyun CLI's shape.
    #[error("is not an aliyun CLI configuration ({0})")]
    Shape(&'static str),
}

/// `~/.aliyun/config.json`.
pub fn default_path() -> Option<PathBuf> {
    dirs::home_dir().map(|h| h.join(".aliyun").join("config.json"))
}

/// Reads `path` (a missing file starts a new configuration), sets the profile and writes it
/// back atomically (mode 0600). Creates the directory when missing.
pub fn write_profile(path: &Path, profile: &StsProfile<'_>) -> Result<(), super::LoginError> {
    let file_error = |detail: String, hint: &'static str| super::LoginError::File {
        what: "aliyun CLI configuration",
        path: path.display().to_string(),
        detail,
        hint,
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(file_error(
                e.to_string(),
                "check its permissions or pass --aliyun-config",
            ));
        }
    };
    let updated = update(existing.as_deref(), profile).map_err(|e| {
        file_error(
            e.to_string(),
            "it was left unchanged; fix it (aliyun configure) or pass --aliyun-config",
        )
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::files::ensure_private_dir(dir)
            .map_err(|e| file_error(e.to_string(), "check the directory's permissions"))?;
    }
    write_private_atomically(path, updated.as_bytes())
        .map_err(|e| file_error(e.to_string(), "check the directory's permissions"))
}

/// The configuration text with the profile set (see the module documentation).
pub fn update(
    existing: Option<&str>,
    profile: &StsProfile<'_>,
) -> Result<String, AliyunConfigError> {
    let Some(text) = existing.filter(|t| !t.trim().is_empty()) else {
        return Ok(new_document(profile));
    };
    serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| AliyunConfigError::NotJson(e.to_string()))?;
    let root = Scanner::new(text).document()?;
    let Node::Object { members, .. } = &root else {
        return Err(AliyunConfigError::Shape("the document is not an object"));
    };
    let profiles = members
        .iter()
        .rev()
        .find(|m| m.key == "profiles")
        .map(|m| &m.value)
        .ok_or(AliyunConfigError::Shape("no \"profiles\" list"))?;
    let Node::Array { items, start, end } = profiles else {
        return Err(AliyunConfigError::Shape("\"profiles\" is not a list"));
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let target = items.iter().find(|p| match p {
        Node::Object { members, .. } => members.iter().any(|m| {
            m.key == "name"
                && matches!(&m.value, Node::Scalar { start, end }
                    if serde_json::from_str::<String>(&text[*start..*end]).ok().as_deref() == Some(profile.name))
        }),
        _ => false,
    });
    match target {
        Some(Node::Object {
            members,
            end: obj_end,
            ..
        }) => {
            let last_end = members
                .last()
                .map_or(obj_end.saturating_sub(1), |m| m.value.end());
            let indent = members
                .first()
                .and_then(|m| line_indent(text, m.key_start))
                .map(str::to_string);
            let mut inserted = String::new();
            for field in FIELDS {
                let value = json_string(profile.value(field));
                match members.iter().rev().find(|m| m.key == field) {
                    Some(m) => edits.push((m.value.start(), m.value.end(), value)),
                    None => {
                        let sep = if members.is_empty() && inserted.is_empty() {
                            ""
                        } else {
                            ","
                        };
                        match &indent {
                            Some(i) => {
                                inserted.push_str(&format!("{sep}\n{i}\"{field}\": {value}"))
                            }
                            None => inserted.push_str(&format!("{sep}\"{field}\":{value}")),
                        }
                    }
                }
            }
            if !inserted.is_empty() {
                if members.is_empty() {
                    // `{}` (or `{ }`): fill the braces.
                    edits.push((obj_end - 1, obj_end - 1, inserted));
                } else {
                    edits.push((last_end, last_end, inserted));
                }
            }
        }
        _ => {
            let array_indent = line_indent(text, *start).unwrap_or("");
            let (item_indent, unit) = match items.first() {
                Some(first) => {
                    let item = line_indent(text, first.start());
                    let member = match first {
                        Node::Object { members, .. } => {
                            members.first().and_then(|m| line_indent(text, m.key_start))
                        }
                        _ => None,
                    };
                    match (item, member) {
                        (Some(i), Some(m)) if m.len() > i.len() && m.starts_with(i) => {
                            (Some(i.to_string()), m[i.len()..].to_string())
                        }
                        (Some(i), _) => (Some(i.to_string()), "\t".to_string()),
                        (None, _) => (None, String::new()),
                    }
                }
                None if text.contains('\n') => {
                    (Some(format!("{array_indent}\t")), "\t".to_string())
                }
                None => (None, String::new()),
            };
            let object = new_profile_object(profile, item_indent.as_deref(), &unit);
            match (items.last(), &item_indent) {
                (Some(last), Some(i)) => {
                    edits.push((last.end(), last.end(), format!(",\n{i}{object}")));
                }
                (Some(last), None) => edits.push((last.end(), last.end(), format!(",{object}"))),
                (None, Some(i)) => edits.push((
                    *start + 1,
                    *end - 1,
                    format!("\n{i}{object}\n{array_indent}"),
                )),
                (None, None) => edits.push((*start + 1, *end - 1, object)),
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (from, to, with) in edits {
        out.replace_range(from..to, &with);
    }
    // The result must still be JSON with the profile set (a guard against an editing bug).
    serde_json::from_str::<serde_json::Value>(&out)
        .map_err(|e| AliyunConfigError::NotJson(format!("internal edit error: {e}")))?;
    Ok(out)
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The aliyun CLI's own layout (Go `json.MarshalIndent(config, "", "\t")`).
fn new_document(profile: &StsProfile<'_>) -> String {
    format!(
        "{{\n\t\"current\": {},\n\t\"profiles\": [\n\t\t{}\n\t],\n\t\"meta_path\": \"\"\n}}",
        json_string(profile.name),
        new_profile_object(profile, Some("\t\t"), "\t")
    )
}

fn new_profile_object(profile: &StsProfile<'_>, indent: Option<&str>, unit: &str) -> String {
    let mut fields = vec![("name", json_string(profile.name))];
    for f in FIELDS {
        fields.push((f, json_string(profile.value(f))));
    }
    fields.push(("region_id", json_string(profile.region_id)));
    fields.push(("output_format", json_string("json")));
    fields.push(("language", json_string("en")));
    match indent {
        Some(i) => {
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{i}{unit}\"{k}\": {v}"))
                .collect();
            format!("{{\n{}\n{i}}}", body.join(",\n"))
        }
        None => {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        }
    }
}

/// The whitespace before `at` on its line, when only whitespace precedes it there.
fn line_indent(text: &str, at: usize) -> Option<&str> {
    let before = text.get(..at)?;
    let line_start = before.rfind('\n')? + 1;
    let indent = &before[line_start..];
    indent
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
        .then_some(indent)
}

/// A JSON value located in the text (the document was already validated by serde_json).
#[derive(Debug)]
enum Node {
    Object {
        start: usize,
        end: usize,
        members: Vec<Member>,
    },
    Array {
        start: usize,
        end: usize,
        items: Vec<Node>,
    },
    Scalar {
        start: usize,
        end: usize,
    },
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Object { start, .. } | Node::Array { start, .. } | Node::Scalar { start, .. } => {
                *start
            }
        }
    }

    fn end(&self) -> usize {
        match self {
            Node::Object { end, .. } | Node::Array { end, .. } | Node::Scalar { end, .. } => *end,
        }
    }
}

#[derive(Debug)]
struct Member {
    key: String,
    key_start: usize,
    value: Node,
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

const SHAPE: AliyunConfigError = AliyunConfigError::Shape("unexpected JSON structure");

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner { text, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn document(&mut self) -> Result<Node, AliyunConfigError> {
        self.skip_ws();
        self.value(0)
    }

    fn value(&mut self, depth: usize) -> Result<Node, AliyunConfigError> {
        if depth > 128 {
            return Err(SHAPE);
        }
        self.skip_ws();
        let start = self.at;
        match self.peek().ok_or(SHAPE)? {
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Node::Object {
                        start,
                        end: self.at,
                        members,
                    });
                }
                loop {
                    self.skip_ws();
                    let key_start = self.at;
                    self.string()?;
                    let key = serde_json::from_str::<String>(&self.text[key_start..self.at])
                        .map_err(|_| SHAPE)?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(SHAPE);
                    }
                    self.at += 1;
                    let value = self.value(depth + 1)?;
                    members.push(Member {
                        key,
                        key_start,
                        value,
                    });
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Node::Object {
                                start,
                                end: self.at,
                                members,
                            });
                        }
                        _ => return Err(SHAPE),
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Node::Array {
                        start,
                        end: self.at,
                        items,
                    });
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Node::Array {
                                start,
                                end: self.at,
                                items,
                            });
                        }
                        _ => return Err(SHAPE),
                    }
                }
            }
            b'"' => {
                self.string()?;
                Ok(Node::Scalar {
                    start,
                    end: self.at,
                })
            }
            _ => {
                while matches!(self.peek(), Some(b) if !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    self.at += 1;
                }
                if self.at == start {
                    return Err(SHAPE);
                }
                Ok(Node::Scalar {
                    start,
                    end: self.at,
                })
            }
        }
    }

    /// Skips a string starting at the current `"`.
    fn string(&mut self) -> Result<(), AliyunConfigError> {
        if self.peek() != Some(b'"') {
            return Err(SHAPE);
        }
        self.at += 1;
        loop {
            match self.peek().ok_or(SHAPE)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Ok(());
                }
                _ => self.at += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests;
