//! Dispatch on `(Version, Action)`, never on `Action` alone: RAM and IMS share many action
//! names with different parameters (spec §1.1). One table ([`actions!`]) declares every action
//! with the permission it needs and its handler, and generates both the lookup table and the
//! executor, so the two cannot drift apart.

use serde_json::{Map, Value};

use super::error::ApiError;
use super::{ims, ram, sts};
use crate::AppState;
use crate::principal::Caller;

/// The products served on the one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// STS, `2015-04-01`.
    Sts,
    /// RAM, `2015-05-01`.
    Ram,
    /// IMS, `2019-08-15`.
    Ims,
}

impl Product {
    /// The product an API `Version` names.
    pub fn from_version(version: &str) -> Option<Product> {
        match version {
            "2015-04-01" => Some(Product::Sts),
            "2015-05-01" => Some(Product::Ram),
            "2019-08-15" => Some(Product::Ims),
            _ => None,
        }
    }

    /// The `HostId` of error envelopes (spec §3.1).
    pub fn host_id(self) -> &'static str {
        match self {
            Product::Sts => "sts.aliyuncs.com",
            Product::Ram => "ram.aliyuncs.com",
            Product::Ims => "ims.aliyuncs.com",
        }
    }

    /// The service prefix of policy action names (`ram:` for RAM and IMS, spec §9.1).
    pub fn service(self) -> &'static str {
        match self {
            Product::Sts => "sts",
            Product::Ram | Product::Ims => "ram",
        }
    }
}

/// The resource an action is authorized against, built from the caller's account and a
/// request parameter (spec §7 ARN forms, region left empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `acs:ram::<account>:*` (account-wide settings).
    Account,
    /// `acs:ram::<account>:user/<param>` (the caller itself when the parameter is absent).
    User(&'static str),
    /// `acs:ram::<account>:group/<param>`.
    Group(&'static str),
    /// `acs:ram::<account>:role/<param>`.
    Role(&'static str),
    /// `acs:ram::<account>:policy/<param>`.
    Policy(&'static str),
    /// `acs:ram::<account>:mfa/<device name from the param>`.
    Mfa(&'static str),
    /// `acs:ram::<account>:<kind>/*` for listings.
    All(&'static str),
    /// The ARN given in a parameter, as is (AssumeRole's `RoleArn`, possibly another account's).
    Arn(&'static str),
    /// Any resource (`*`).
    Any,
    /// `acs:ram::<account>:<kind>/<param>` for other named entities (e.g. `saml-provider`).
    Named(&'static str, &'static str),
}

/// What a caller needs to run an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// No credentials: the request carries its own proof (AssumeRoleWithSAML/OIDC, spec §2.1).
    /// A signature, if present, is ignored.
    Anonymous,
    /// Any authenticated caller (GetCallerIdentity).
    Authenticated,
    /// Policy evaluation of `<service>:<Action>` on the resource.
    Policy(Resource),
}

/// One served action.
#[derive(Debug)]
pub struct ActionSpec {
    /// Product.
    pub product: Product,
    /// Wire name (also the metrics label).
    pub name: &'static str,
    /// Required permission.
    pub permission: Permission,
}

impl ActionSpec {
    /// Whether the action is called without credentials (spec §2.1 step 1).
    pub fn is_anonymous(&self) -> bool {
        self.permission == Permission::Anonymous
    }

    /// The policy action name, e.g. `ram:CreateUser`.
    pub fn policy_action(&self) -> String {
        format!("{}:{}", self.product.service(), self.name)
    }
}

/// What an action handler gets.
pub struct ActionContext<'a> {
    /// Application state.
    pub state: &'a AppState,
    /// The authenticated caller (`None` only for anonymous actions).
    pub caller: Option<&'a Caller>,
    /// Request parameters.
    pub params: &'a super::params::Params,
    /// This request's id.
    pub request_id: &'a str,
    /// The client's address and transport.
    pub client: &'a super::client_info::ClientInfo,
}

macro_rules! actions {
    ($( $product:ident $name:literal $perm:expr => $handler:path; )*) => {
        /// Every served action.
        pub static ACTIONS: &[ActionSpec] = &[
            $( ActionSpec { product: Product::$product, name: $name, permission: $perm }, )*
        ];

        /// Runs an action; the map becomes the response body (RequestId is added by the caller).
        pub async fn execute(
            spec: &ActionSpec,
            ctx: &ActionContext<'_>,
        ) -> Result<Map<String, Value>, ApiError> {
            match (spec.product, spec.name) {
                $( (Product::$product, $name) => $handler(ctx).await, )*
                _ => Err(ApiError::unknown_action()),
            }
        }
    };
}

use Permission::{Anonymous, Authenticated, Policy as P};
use Resource::{Account, All, Any, Arn, Group, Mfa, Named, Policy as Pol, Role, User};

actions! {
    Sts "GetCallerIdentity" Authenticated => sts::get_caller_identity;
    Sts "AssumeRole" P(Arn("RoleArn")) => sts::assume_role;
    Sts "AuthorizeRequest" P(Any) => sts::authorize_request;
    Sts "AssumeRoleWithSAML" Anonymous => sts::assume_role_with_saml;
    Sts "AssumeRoleWithOIDC" Anonymous => super::oidc::assume_role_with_oidc;

    Ims "CreateSAMLProvider" P(Named("saml-provider", "SAMLProviderName")) => ims::create_saml_provider;
    Ims "UpdateSAMLProvider" P(Named("saml-provider", "SAMLProviderName")) => ims::update_saml_provider;
    Ims "GetSAMLProvider" P(Named("saml-provider", "SAMLProviderName")) => ims::get_saml_provider;
    Ims "DeleteSAMLProvider" P(Named("saml-provider", "SAMLProviderName")) => ims::delete_saml_provider;
    Ims "ListSAMLProviders" P(All("saml-provider")) => ims::list_saml_providers;
    Ims "SetUserSsoSettings" P(Account) => ims::set_user_sso_settings;
    Ims "GetUserSsoSettings" P(Account) => ims::get_user_sso_settings;
    // Legacy IMS 2017-04-30 names, accepted as aliases under 2019-08-15 (spec §5.3).
    Ims "SetSamlSsoSettings" P(Account) => ims::set_saml_sso_settings;
    Ims "GetSamlSsoSettings" P(Account) => ims::get_saml_sso_settings;
    Ims "GetDefaultDomain" P(Account) => ims::get_default_domain;
    // rambridge extension: the sign-in audit of the account.
    Ims "ListSignInEvents" P(Account) => ims::list_sign_in_events;

    Ims "CreateOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::create_oidc_provider;
    Ims "GetOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::get_oidc_provider;
    Ims "UpdateOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::update_oidc_provider;
    Ims "DeleteOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::delete_oidc_provider;
    Ims "ListOIDCProviders" P(All("oidc-provider")) => super::oidc::list_oidc_providers;
    Ims "AddClientIdToOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::add_client_id;
    Ims "RemoveClientIdFromOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::remove_client_id;
    Ims "AddFingerprintToOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::add_fingerprint;
    Ims "RemoveFingerprintFromOIDCProvider" P(Named("oidc-provider", "OIDCProviderName")) => super::oidc::remove_fingerprint;
    // rambridge extension: browser sign-in through OIDC (docs/api.md).
    Ims "SetOIDCSsoSettings" P(Account) => super::oidc::set_oidc_sso_settings;
    Ims "GetOIDCSsoSettings" P(Account) => super::oidc::get_oidc_sso_settings;

    Ram "CreateUser" P(User("UserName")) => ram::create_user;
    Ram "GetUser" P(User("UserName")) => ram::get_user;
    Ram "UpdateUser" P(User("UserName")) => ram::update_user;
    Ram "DeleteUser" P(User("UserName")) => ram::delete_user;
    Ram "ListUsers" P(All("user")) => ram::list_users;

    Ram "CreateAccessKey" P(User("UserName")) => ram::create_access_key;
    Ram "ListAccessKeys" P(User("UserName")) => ram::list_access_keys;
    Ram "UpdateAccessKey" P(User("UserName")) => ram::update_access_key;
    Ram "DeleteAccessKey" P(User("UserName")) => ram::delete_access_key;

    Ram "CreateGroup" P(Group("GroupName")) => ram::create_group;
    Ram "GetGroup" P(Group("GroupName")) => ram::get_group;
    Ram "UpdateGroup" P(Group("GroupName")) => ram::update_group;
    Ram "DeleteGroup" P(Group("GroupName")) => ram::delete_group;
    Ram "ListGroups" P(All("group")) => ram::list_groups;
    Ram "AddUserToGroup" P(Group("GroupName")) => ram::add_user_to_group;
    Ram "RemoveUserFromGroup" P(Group("GroupName")) => ram::remove_user_from_group;
    Ram "ListGroupsForUser" P(User("UserName")) => ram::list_groups_for_user;
    Ram "ListUsersForGroup" P(Group("GroupName")) => ram::list_users_for_group;

    Ram "CreateLoginProfile" P(User("UserName")) => ram::create_login_profile;
    Ram "GetLoginProfile" P(User("UserName")) => ram::get_login_profile;
    Ram "UpdateLoginProfile" P(User("UserName")) => ram::update_login_profile;
    Ram "DeleteLoginProfile" P(User("UserName")) => ram::delete_login_profile;
    Ram "GetPasswordPolicy" P(Account) => ram::get_password_policy;
    Ram "SetPasswordPolicy" P(Account) => ram::set_password_policy;

    Ram "CreateVirtualMFADevice" P(Mfa("VirtualMFADeviceName")) => ram::create_virtual_mfa_device;
    Ram "BindMFADevice" P(User("UserName")) => ram::bind_mfa_device;
    Ram "UnbindMFADevice" P(User("UserName")) => ram::unbind_mfa_device;
    Ram "GetUserMFAInfo" P(User("UserName")) => ram::get_user_mfa_info;
    Ram "ListVirtualMFADevices" P(All("mfa")) => ram::list_virtual_mfa_devices;
    Ram "DeleteVirtualMFADevice" P(Mfa("SerialNumber")) => ram::delete_virtual_mfa_device;

    Ram "CreateRole" P(Role("RoleName")) => ram::create_role;
    Ram "GetRole" P(Role("RoleName")) => ram::get_role;
    Ram "UpdateRole" P(Role("RoleName")) => ram::update_role;
    Ram "DeleteRole" P(Role("RoleName")) => ram::delete_role;
    Ram "ListRoles" P(All("role")) => ram::list_roles;
    Ram "RevokeRoleSessions" P(Role("RoleName")) => ram::revoke_role_sessions;

    Ram "CreatePolicy" P(Pol("PolicyName")) => ram::create_policy;
    Ram "GetPolicy" P(Pol("PolicyName")) => ram::get_policy;
    Ram "UpdatePolicyDescription" P(Pol("PolicyName")) => ram::update_policy_description;
    Ram "DeletePolicy" P(Pol("PolicyName")) => ram::delete_policy;
    Ram "ListPolicies" P(All("policy")) => ram::list_policies;
    Ram "CreatePolicyVersion" P(Pol("PolicyName")) => ram::create_policy_version;
    Ram "GetPolicyVersion" P(Pol("PolicyName")) => ram::get_policy_version;
    Ram "ListPolicyVersions" P(Pol("PolicyName")) => ram::list_policy_versions;
    Ram "DeletePolicyVersion" P(Pol("PolicyName")) => ram::delete_policy_version;
    Ram "SetDefaultPolicyVersion" P(Pol("PolicyName")) => ram::set_default_policy_version;
    Ram "AttachPolicyToUser" P(User("UserName")) => ram::attach_policy_to_user;
    Ram "AttachPolicyToGroup" P(Group("GroupName")) => ram::attach_policy_to_group;
    Ram "AttachPolicyToRole" P(Role("RoleName")) => ram::attach_policy_to_role;
    Ram "DetachPolicyFromUser" P(User("UserName")) => ram::detach_policy_from_user;
    Ram "DetachPolicyFromGroup" P(Group("GroupName")) => ram::detach_policy_from_group;
    Ram "DetachPolicyFromRole" P(Role("RoleName")) => ram::detach_policy_from_role;
    Ram "ListPoliciesForUser" P(User("UserName")) => ram::list_policies_for_user;
    Ram "ListPoliciesForGroup" P(Group("GroupName")) => ram::list_policies_for_group;
    Ram "ListPoliciesForRole" P(Role("RoleName")) => ram::list_policies_for_role;
    Ram "ListEntitiesForPolicy" P(Pol("PolicyName")) => ram::list_entities_for_policy;
}

/// Looks up an action of a product.
pub fn lookup(product: Product, name: &str) -> Option<&'static ActionSpec> {
    ACTIONS
        .iter()
        .find(|a| a.product == product && a.name == name)
}

/// The resource ARN an action is authorized against.
pub fn resource_arn(
    resource: Resource,
    account_id: &str,
    params: &super::params::Params,
    caller_user: Option<&str>,
) -> String {
    let param = |p: &str| params.get(p).filter(|v| !v.is_empty());
    match resource {
        Resource::Account => format!("acs:ram::{account_id}:*"),
        Resource::User(p) => format!(
            "acs:ram::{account_id}:user/{}",
            param(p).or(caller_user).unwrap_or("*")
        ),
        Resource::Group(p) => format!("acs:ram::{account_id}:group/{}", param(p).unwrap_or("*")),
        Resource::Role(p) => format!("acs:ram::{account_id}:role/{}", param(p).unwrap_or("*")),
        Resource::Policy(p) => format!("acs:ram::{account_id}:policy/{}", param(p).unwrap_or("*")),
        Resource::Mfa(p) => {
            let v = param(p).unwrap_or("*");
            let name = v.rsplit_once(":mfa/").map_or(v, |(_, n)| n);
            format!("acs:ram::{account_id}:mfa/{name}")
        }
        Resource::All(kind) => format!("acs:ram::{account_id}:{kind}/*"),
        Resource::Arn(p) => param(p).unwrap_or("*").to_string(),
        Resource::Any => "*".to_string(),
        Resource::Named(kind, p) => {
            format!("acs:ram::{account_id}:{kind}/{}", param(p).unwrap_or("*"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicates_and_every_entry_is_found() {
        for (i, a) in ACTIONS.iter().enumerate() {
            assert!(
                !ACTIONS[..i]
                    .iter()
                    .any(|b| b.product == a.product && b.name == a.name),
                "{} twice",
                a.name
            );
            assert!(std::ptr::eq(lookup(a.product, a.name).unwrap(), a));
        }
        assert!(lookup(Product::Ims, "CreateUser").is_none());
        assert_eq!(
            lookup(Product::Ram, "CreateUser").unwrap().policy_action(),
            "ram:CreateUser"
        );
    }

    #[test]
    fn resource_arns() {
        let params = super::super::params::Params::parse(
            Some("UserName=alice&SerialNumber=acs%3Aram%3A%3A1%3Amfa%2Fdev1"),
            None,
        )
        .unwrap();
        assert_eq!(
            resource_arn(Resource::User("UserName"), "1", &params, None),
            "acs:ram::1:user/alice"
        );
        assert_eq!(
            resource_arn(Resource::Group("GroupName"), "1", &params, None),
            "acs:ram::1:group/*"
        );
        assert_eq!(
            resource_arn(Resource::Mfa("SerialNumber"), "1", &params, None),
            "acs:ram::1:mfa/dev1"
        );
        let none = super::super::params::Params::default();
        assert_eq!(
            resource_arn(Resource::User("UserName"), "1", &none, Some("bob")),
            "acs:ram::1:user/bob"
        );
        assert_eq!(
            resource_arn(Resource::All("role"), "1", &none, None),
            "acs:ram::1:role/*"
        );
    }
}
