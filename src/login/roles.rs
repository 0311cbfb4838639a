//! Choosing the role to assume among those a SAML response offers: `--role` (ARN or name) and
//! `--provider` (ARN or name) narrow the list; one left is taken; several are offered in an
//! arrow-key picker when stdin and stderr are a terminal (drawn on stderr, so stdout stays
//! clean for `eval` and the aliyun CLI), and listed in the error otherwise.

use std::collections::BTreeMap;

use super::LoginError;
use crate::saml::offered::OfferedRole;

/// Account id to alias, for display.
pub type Aliases = BTreeMap<String, String>;

/// An interactive picker: shows the labels, returns the chosen index (`None`: cancelled).
pub type Picker<'a> = &'a dyn Fn(&[String]) -> Result<Option<usize>, LoginError>;

/// The role's account: its alias when known, else its id.
fn account(role: &OfferedRole, aliases: &Aliases) -> String {
    aliases
        .get(role.account_id())
        .map_or_else(|| role.account_id().to_string(), Clone::clone)
}

/// How a role is shown: account (alias when known), role name, provider, ARN.
pub fn label(role: &OfferedRole, aliases: &Aliases) -> String {
    let account = account(role, aliases);
    format!(
        "{account}  {}  (via {}; {})",
        role.role_name(),
        role.provider_name(),
        role.role_arn
    )
}

fn listing(roles: &[&OfferedRole], aliases: &Aliases) -> String {
    roles
        .iter()
        .map(|r| format!("{}/{} ({})", account(r, aliases), r.role_name(), r.role_arn))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--role` / `--provider` matching.
fn wanted(role: &OfferedRole, want_role: Option<&str>, want_provider: Option<&str>) -> bool {
    want_role.is_none_or(|w| role.role_arn == w || role.role_name() == w)
        && want_provider.is_none_or(|w| role.provider_arn == w || role.provider_name() == w)
}

/// Picks one role (see the module documentation). `pick` shows the picker and returns the
/// chosen index, or `None` when the user cancels; it is only called with two or more labels.
pub fn choose(
    offered: &[OfferedRole],
    want_role: Option<&str>,
    want_provider: Option<&str>,
    aliases: &Aliases,
    pick: Option<Picker<'_>>,
) -> Result<OfferedRole, LoginError> {
    if offered.is_empty() {
        return Err(LoginError::NoRoles);
    }
    let all: Vec<&OfferedRole> = offered.iter().collect();
    let candidates: Vec<&OfferedRole> = offered
        .iter()
        .filter(|r| wanted(r, want_role, want_provider))
        .collect();
    match candidates.as_slice() {
        [] => Err(LoginError::RoleNotOffered {
            wanted: match (want_role, want_provider) {
                (Some(r), Some(p)) => format!("{r} via {p}"),
                (Some(r), None) => r.to_string(),
                (None, Some(p)) => format!("any via {p}"),
                (None, None) => String::new(),
            },
            offered: listing(&all, aliases),
        }),
        [one] => Ok((*one).clone()),
        several => match pick {
            Some(pick) => {
                let labels: Vec<String> = several.iter().map(|r| label(r, aliases)).collect();
                match pick(&labels)? {
                    Some(i) => several
                        .get(i)
                        .map(|r| (*r).clone())
                        .ok_or(LoginError::Cancelled),
                    None => Err(LoginError::Cancelled),
                }
            }
            None => Err(LoginError::ChooseRole {
                offered: listing(several, aliases),
            }),
        },
    }
}

/// Whether the picker can be shown: stdin and stderr are a terminal.
pub fn is_interactive() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The arrow-key picker on stderr (`dialoguer`): Up/Down (or j/k) to move, Enter to choose,
/// Esc or q to cancel.
pub fn terminal_picker(labels: &[String]) -> Result<Option<usize>, LoginError> {
    dialoguer::Select::new()
        .with_prompt("Choose a role (arrows to move, Enter to choose)")
        .items(labels)
        .default(0)
        .interact_on_opt(&dialoguer::console::Term::stderr())
        .map_err(|e| LoginError::usage(format!("the role picker failed: {e}; pass --role instead")))
}

/// One line per role for `--list-roles`.
pub fn list(offered: &[OfferedRole], aliases: &Aliases) -> String {
    offered
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\n",
                r.role_arn,
                r.provider_arn,
                account(r, aliases),
                r.role_name()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(account: &str, name: &str, provider: &str) -> OfferedRole {
        OfferedRole {
            role_arn: format!("acs:ram::{account}:role/{name}"),
            provider_arn: format!("acs:ram::{account}:saml-provider/{provider}"),
        }
    }

    fn offered() -> Vec<OfferedRole> {
        vec![
            role("1111111111111111", "admin", "okta"),
            role("1111111111111111", "dev", "okta"),
            role("1111111111111111", "dev", "adfs"),
        ]
    }

    fn aliases() -> Aliases {
        [("1111111111111111".to_string(), "acme".to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn flags_narrow_the_choice() {
        let r = choose(&offered(), Some("admin"), None, &aliases(), None).unwrap();
        assert_eq!(r.role_name(), "admin");
        let r = choose(
            &offered(),
            Some("acs:ram::1111111111111111:role/dev"),
            Some("adfs"),
            &aliases(),
            None,
        )
        .unwrap();
        assert_eq!(r.provider_name(), "adfs");
        match choose(&offered(), Some("dev"), None, &aliases(), None) {
            Err(LoginError::ChooseRole { offered }) => {
                assert_eq!(
                    offered,
                    "acme/dev (acs:ram::1111111111111111:role/dev), acme/dev (acs:ram::1111111111111111:role/dev)"
                );
            }
            other => panic!("{other:?}"),
        }
        match choose(&offered(), Some("ops"), None, &aliases(), None) {
            Err(e @ LoginError::RoleNotOffered { .. }) => {
                let text = e.to_string();
                assert!(text.contains("\"ops\" is not offered"), "{text}");
                assert!(text.contains("acme/admin"), "{text}");
                assert!(text.contains("pick one of these with --role"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            choose(&[], None, None, &aliases(), None),
            Err(LoginError::NoRoles)
        ));
    }

    #[test]
    fn the_picker_sees_labels_with_the_alias_and_its_choice_is_taken() {
        let pick = |labels: &[String]| -> Result<Option<usize>, LoginError> {
            assert_eq!(labels.len(), 3);
            assert!(
                labels[0].starts_with("acme  admin  (via okta;"),
                "{}",
                labels[0]
            );
            Ok(Some(2))
        };
        let r = choose(&offered(), None, None, &aliases(), Some(&pick)).unwrap();
        assert_eq!((r.role_name(), r.provider_name()), ("dev", "adfs"));
        let cancel = |_: &[String]| -> Result<Option<usize>, LoginError> { Ok(None) };
        assert!(matches!(
            choose(&offered(), None, None, &aliases(), Some(&cancel)),
            Err(LoginError::Cancelled)
        ));
        // Without a known alias the account id is shown.
        let listed = list(&offered(), &Aliases::new());
        assert!(listed.starts_with("acs:ram::1111111111111111:role/admin\tacs:ram::1111111111111111:saml-provider/okta\t1111111111111111\tadmin\n"), "{listed}");
    }
}
