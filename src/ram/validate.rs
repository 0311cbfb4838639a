//! Parameter rules of the RAM API (spec §6), each failing with the Alibaba
//! `InvalidParameter.<Field>.<Kind>` family.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::RamError;

fn invalid(field: &'static str, kind: &'static str, message: String) -> RamError {
    RamError::Invalid {
        field,
        kind,
        message,
    }
}

/// Length (in characters) within `min..=max`, and every character allowed by `ok`.
pub fn name(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    ok: fn(char) -> bool,
    allowed: &str,
) -> Result<(), RamError> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(invalid(
            field,
            "Length",
            format!("{field} must be {min} to {max} characters long."),
        ));
    }
    if let Some(c) = value.chars().find(|c| !ok(*c)) {
        return Err(invalid(
            field,
            "InvalidChars",
            format!("{field} contains {c:?}; allowed are {allowed}."),
        ));
    }
    Ok(())
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn role_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

fn policy_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// `UserName`, `NewUserName`: 1-64 of `[A-Za-z0-9._-]`.
pub fn user_name(field: &'static str, v: &str) -> Result<(), RamError> {
    name(
        field,
        v,
        1,
        64,
        name_char,
        "letters, digits, '.', '_' and '-'",
    )
}

/// `GroupName`: 1-64 of `[A-Za-z0-9._-]`.
pub fn group_name(field: &'static str, v: &str) -> Result<(), RamError> {
    name(
        field,
        v,
        1,
        64,
        name_char,
        "letters, digits, '.', '_' and '-'",
    )
}

/// `RoleName`: 1-64 of `[A-Za-z0-9.-]`.
pub fn role_name(v: &str) -> Result<(), RamError> {
    name(
        "RoleName",
        v,
        1,
        64,
        role_char,
        "letters, digits, '.' and '-'",
    )
}

/// `PolicyName`: 1-128 of `[A-Za-z0-9-]`.
pub fn policy_name(v: &str) -> Result<(), RamError> {
    name(
        "PolicyName",
        v,
        1,
        128,
        policy_char,
        "letters, digits and '-'",
    )
}

/// `VirtualMFADeviceName`: 1-64 of `[A-Za-z0-9.-]`.
pub fn mfa_name(v: &str) -> Result<(), RamError> {
    name(
        "VirtualMFADeviceName",
        v,
        1,
        64,
        role_char,
        "letters, digits, '.' and '-'",
    )
}

/// Free text up to `max` characters.
pub fn text(field: &'static str, v: &str, max: usize) -> Result<(), RamError> {
    if v.chars().count() > max {
        return Err(invalid(
            field,
            "Length",
            format!("{field} must be at most {max} characters long."),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "InvalidChars",
            format!("{field} must not contain control characters."),
        ));
    }
    Ok(())
}

/// `DisplayName`: 1-128 characters.
pub fn display_name(field: &'static str, v: &str) -> Result<(), RamError> {
    if v.is_empty() {
        return Err(invalid(
            field,
            "Length",
            format!("{field} must not be empty."),
        ));
    }
    text(field, v, 128)
}

/// `MobilePhone`: `<country code>-<number>`, digits only (e.g. `86-18600008888`).
pub fn mobile_phone(field: &'static str, v: &str) -> Result<(), RamError> {
    let ok = v.split_once('-').is_some_and(|(cc, n)| {
        (1..=4).contains(&cc.len())
            && (4..=20).contains(&n.len())
            && cc.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    });
    if v.is_empty() || ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "Format",
            format!("{field} must look like <country code>-<number>, e.g. 86-18600008888."),
        ))
    }
}

/// `Email`: empty, or `local@domain` with a dot in the domain, at most 128 characters.
pub fn email(field: &'static str, v: &str) -> Result<(), RamError> {
    let ok = v.len() <= 128
        && v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if v.is_empty() || ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "Format",
            format!("{field} is not an email address."),
        ))
    }
}

/// Paging: `MaxItems` 1-1000 (default 100), `Marker` an opaque token from a previous page.
pub fn paging(
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<(usize, Option<String>), RamError> {
    paging_up_to(max_items, marker, 1000)
}

/// [`paging`] with another upper bound for `MaxItems` (IMS lists allow 1-100).
pub fn paging_up_to(
    max_items: Option<&str>,
    marker: Option<&str>,
    max: usize,
) -> Result<(usize, Option<String>), RamError> {
    let limit = match max_items {
        None | Some("") => 100.min(max),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "MaxItems",
                    "Range",
                    format!("MaxItems must be an integer from 1 to {max}."),
                ));
            }
        },
    };
    let after = match marker {
        None | Some("") => None,
        Some(m) => Some(
            URL_SAFE_NO_PAD
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    invalid(
                        "Marker",
                        "Format",
                        "Marker is not one this service issued.".into(),
                    )
                })?,
        ),
    };
    Ok((limit, after))
}

/// The opaque marker for a page that ended after `name`.
pub fn marker(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(name.as_bytes())
}

/// Parses a boolean the SDKs send as `true`/`false`/`True`/`False`.
pub fn boolean(field: &'static str, v: Option<&str>, default: bool) -> Result<bool, RamError> {
    match v {
        None | Some("") => Ok(default),
        Some(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(invalid(
            field,
            "Format",
            format!("{field} must be true or false."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(user_name("UserName", "alice.b-c_d").is_ok());
        assert!(matches!(
            user_name("UserName", ""),
            Err(RamError::Invalid { kind: "Length", .. })
        ));
        assert!(matches!(
            user_name("UserName", &"a".repeat(65)),
            Err(RamError::Invalid { kind: "Length", .. })
        ));
        assert!(matches!(
            user_name("UserName", "a b"),
            Err(RamError::Invalid {
                kind: "InvalidChars",
                ..
            })
        ));
        assert!(role_name("a.b-c").is_ok());
        assert!(role_name("a_b").is_err());
        assert!(policy_name("Read-Only1").is_ok());
        assert!(policy_name("a.b").is_err());
    }

    #[test]
    fn contact_fields() {
        assert!(mobile_phone("MobilePhone", "86-18600008888").is_ok());
        assert!(mobile_phone("MobilePhone", "").is_ok());
        assert!(mobile_phone("MobilePhone", "18600008888").is_err());
        assert!(email("Email", "a@example.com").is_ok());
        assert!(email("Email", "a@b").is_err());
        assert!(email("Email", "a b@example.com").is_err());
    }

    #[test]
    fn paging_rules() {
        assert_eq!(paging(None, None).unwrap(), (100, None));
        assert_eq!(
            paging(Some("1000"), Some(&marker("bob"))).unwrap(),
            (1000, Some("bob".into()))
        );
        assert!(paging(Some("0"), None).is_err());
        assert!(paging(Some("1001"), None).is_err());
        assert!(paging(None, Some("!!")).is_err());
        assert_eq!(paging_up_to(Some("100"), None, 100).unwrap(), (100, None));
        assert!(paging_up_to(Some("101"), None, 100).is_err());
    }

    #[test]
    fn booleans() {
        assert!(boolean("B", Some("True"), false).unwrap());
        assert!(!boolean("B", Some("false"), true).unwrap());
        assert!(boolean("B", None, true).unwrap());
        assert!(boolean("B", Some("yes"), true).is_err());
    }
}
