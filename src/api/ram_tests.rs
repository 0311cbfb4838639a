//! RAM actions in process: CRUD, delete conflicts that change nothing, limits, versions, MFA,
//! account isolation, and authorization of RAM users by their own and their groups' policies.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use super::test_support::{Harness, code};
use crate::client::{self, Credentials};
use crate::crypto::totp;

const RAM: &str = "2015-05-01";

fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

#[tokio::test]
async fn user_lifecycle_and_paging() {
    let h = Harness::new().await;
    let u = h
        .ram_ok(
            "CreateUser",
            &[
                ("UserName", "alice"),
                ("DisplayName", "Alice A"),
                ("Email", "alice@example.com"),
                ("MobilePhone", "86-18600008888"),
            ],
        )
        .await;
    assert_eq!(u["User"]["UserName"], "alice");
    assert_eq!(u["User"]["DisplayName"], "Alice A");
    assert_eq!(u["User"]["UserId"].as_str().unwrap().len(), 16);
    assert_eq!(u["User"]["UserPrincipalName"], "alice@acme.onaliyun.com");
    h.ram_err(
        "CreateUser",
        &[("UserName", "alice")],
        "EntityAlreadyExists.User",
    )
    .await;
    h.ram_err(
        "CreateUser",
        &[("UserName", "a b")],
        "InvalidParameter.UserName.InvalidChars",
    )
    .await;
    h.ram_err(
        "CreateUser",
        &[("UserName", "bob"), ("Email", "nope")],
        "InvalidParameter.Email.Format",
    )
    .await;
    h.ram_err("CreateUser", &[], "MissingParameter.UserName")
        .await;

    let u = h
        .ram_ok(
            "UpdateUser",
            &[
                ("UserName", "alice"),
                ("NewUserName", "alice2"),
                ("NewComments", "c"),
            ],
        )
        .await;
    assert_eq!(u["User"]["UserName"], "alice2");
    assert_eq!(u["User"]["Comments"], "c");
    h.ram_err("GetUser", &[("UserName", "alice")], "EntityNotExist.User")
        .await;

    for name in ["u1", "u2", "u3"] {
        h.ram_ok("CreateUser", &[("UserName", name)]).await;
    }
    let p1 = h.ram_ok("ListUsers", &[("MaxItems", "2")]).await;
    assert_eq!(p1["IsTruncated"], true);
    let names: Vec<&str> = p1["Users"]["User"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice2", "u1"]);
    let marker = p1["Marker"].as_str().unwrap();
    let p2 = h
        .ram_ok("ListUsers", &[("MaxItems", "2"), ("Marker", marker)])
        .await;
    assert_eq!(p2["IsTruncated"], false);
    assert_eq!(p2["Users"]["User"].as_array().unwrap().len(), 2);
    h.ram_err(
        "ListUsers",
        &[("MaxItems", "0")],
        "InvalidParameter.MaxItems.Range",
    )
    .await;

    h.ram_ok("DeleteUser", &[("UserName", "u3")]).await;
    h.ram_err("DeleteUser", &[("UserName", "u3")], "EntityNotExist.User")
        .await;
}

#[tokio::test]
async fn deleting_what_is_in_use_conflicts_and_changes_nothing() {
    let h = Harness::new().await;
    h.user_with_key("bob").await;
    h.ram_err(
        "DeleteUser",
        &[("UserName", "bob")],
        "DeleteConflict.User.AccessKey",
    )
    .await;
    h.ram_ok("GetUser", &[("UserName", "bob")]).await;
    let keys = h.ram_ok("ListAccessKeys", &[("UserName", "bob")]).await;
    let key_id = keys["AccessKeys"]["AccessKey"][0]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        keys["AccessKeys"]["AccessKey"][0]
            .get("AccessKeySecret")
            .is_none()
    );
    h.ram_ok(
        "DeleteAccessKey",
        &[("UserName", "bob"), ("UserAccessKeyId", &key_id)],
    )
    .await;

    h.ram_ok("CreateGroup", &[("GroupName", "ops")]).await;
    h.ram_ok(
        "AddUserToGroup",
        &[("GroupName", "ops"), ("UserName", "bob")],
    )
    .await;
    h.ram_err(
        "AddUserToGroup",
        &[("GroupName", "ops"), ("UserName", "bob")],
        "EntityAlreadyExists.User.Group",
    )
    .await;
    h.ram_err(
        "DeleteUser",
        &[("UserName", "bob")],
        "DeleteConflict.User.Group",
    )
    .await;
    h.ram_err(
        "DeleteGroup",
        &[("GroupName", "ops")],
        "DeleteConflict.Group.User",
    )
    .await;
    let members = h.ram_ok("ListUsersForGroup", &[("GroupName", "ops")]).await;
    assert_eq!(members["Users"]["User"][0]["UserName"], "bob");
    let groups = h.ram_ok("ListGroupsForUser", &[("UserName", "bob")]).await;
    assert_eq!(groups["Groups"]["Group"][0]["GroupName"], "ops");
    h.ram_ok(
        "RemoveUserFromGroup",
        &[("GroupName", "ops"), ("UserName", "bob")],
    )
    .await;

    h.ram_ok(
        "CreatePolicy",
        &[
            ("PolicyName", "p1"),
            ("PolicyDocument", &allow("ecs:*", "*")),
        ],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "p1"),
            ("UserName", "bob"),
        ],
    )
    .await;
    h.ram_err(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "p1"),
            ("UserName", "bob"),
        ],
        "EntityAlreadyExists.User.Policy",
    )
    .await;
    h.ram_err(
        "DeleteUser",
        &[("UserName", "bob")],
        "DeleteConflict.User.Policy",
    )
    .await;
    h.ram_err(
        "DeletePolicy",
        &[("PolicyName", "p1")],
        "DeleteConflict.Policy.User",
    )
    .await;
    let ents = h
        .ram_ok(
            "ListEntitiesForPolicy",
            &[("PolicyType", "Custom"), ("PolicyName", "p1")],
        )
        .await;
    assert_eq!(ents["Users"]["User"][0]["UserName"], "bob");
    h.ram_ok(
        "DetachPolicyFromUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "p1"),
            ("UserName", "bob"),
        ],
    )
    .await;
    h.ram_err(
        "DetachPolicyFromUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "p1"),
            ("UserName", "bob"),
        ],
        "EntityNotExist.User.Policy",
    )
    .await;

    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "bob"), ("Password", "Passw0rdOK")],
    )
    .await;
    h.ram_err(
        "DeleteUser",
        &[("UserName", "bob")],
        "DeleteConflict.User.LoginProfile",
    )
    .await;
    h.ram_ok("DeleteLoginProfile", &[("UserName", "bob")]).await;

    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "r1"),
            ("AssumeRolePolicyDocument", &trust(&h.account.account_id)),
        ],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
            ("RoleName", "r1"),
        ],
    )
    .await;
    h.ram_err(
        "DeleteRole",
        &[("RoleName", "r1")],
        "DeleteConflict.Role.Policy",
    )
    .await;
    h.ram_ok(
        "DetachPolicyFromRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
            ("RoleName", "r1"),
        ],
    )
    .await;
    h.ram_ok("DeleteRole", &[("RoleName", "r1")]).await;

    h.ram_ok("DeleteUser", &[("UserName", "bob")]).await;
    h.ram_ok("DeleteGroup", &[("GroupName", "ops")]).await;
    h.ram_ok("DeletePolicy", &[("PolicyName", "p1")]).await;
}

fn trust(account: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    )
}

#[tokio::test]
async fn access_key_limit_and_status() {
    let h = Harness::new().await;
    let creds = h.user_with_key("carol").await;
    h.ram_ok("CreateAccessKey", &[("UserName", "carol")]).await;
    h.ram_err(
        "CreateAccessKey",
        &[("UserName", "carol")],
        "LimitExceeded.User.AccessKey",
    )
    .await;
    assert_eq!(
        h.ram_ok("ListAccessKeys", &[("UserName", "carol")]).await["AccessKeys"]["AccessKey"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, body) = h.call(&creds, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h.ram_ok(
        "UpdateAccessKey",
        &[
            ("UserName", "carol"),
            ("UserAccessKeyId", &creds.access_key_id),
            ("Status", "Inactive"),
        ],
    )
    .await;
    let (_, body) = h.call(&creds, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(code(&body), "InvalidAccessKeyId.Inactive");
    h.ram_err(
        "UpdateAccessKey",
        &[
            ("UserName", "carol"),
            ("UserAccessKeyId", &creds.access_key_id),
            ("Status", "Off"),
        ],
        "InvalidParameter.Status.Format",
    )
    .await;
    h.ram_err(
        "DeleteAccessKey",
        &[("UserName", "carol"), ("UserAccessKeyId", "LTAInope")],
        "EntityNotExist.User.AccessKey",
    )
    .await;
}

#[tokio::test]
async fn ram_user_identity_and_authorization() {
    let h = Harness::new().await;
    let dave = h.user_with_key("dave").await;
    let (status, id) = h.call(&dave, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(id["IdentityType"], "RAMUser");
    assert_eq!(
        id["Arn"],
        format!("acs:ram::{}:user/dave", h.account.account_id)
    );

    // No policy: implicit deny, with Alibaba's detail.
    let (status, body) = h.call(&dave, RAM, "ListUsers", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "NoPermission")
    );
    assert_eq!(body["AccessDeniedDetail"]["AuthAction"], "ram:ListUsers");
    assert_eq!(
        body["AccessDeniedDetail"]["NoPermissionType"],
        "ImplicitDeny"
    );

    // Through a group's System policy.
    h.ram_ok("CreateGroup", &[("GroupName", "readers")]).await;
    h.ram_ok(
        "AddUserToGroup",
        &[("GroupName", "readers"), ("UserName", "dave")],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToGroup",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("GroupName", "readers"),
        ],
    )
    .await;
    assert_eq!(h.call(&dave, RAM, "ListUsers", &[]).await.0, StatusCode::OK);
    let (_, body) = h
        .call(&dave, RAM, "CreateUser", &[("UserName", "mallory")])
        .await;
    assert_eq!(code(&body), "NoPermission");

    // A custom policy scoped to one user resource.
    let doc = allow(
        "ram:UpdateUser",
        &format!("acs:ram:*:{}:user/dave", h.account.account_id),
    );
    h.ram_ok(
        "CreatePolicy",
        &[("PolicyName", "self-edit"), ("PolicyDocument", &doc)],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "self-edit"),
            ("UserName", "dave"),
        ],
    )
    .await;
    assert_eq!(
        h.call(
            &dave,
            RAM,
            "UpdateUser",
            &[("UserName", "dave"), ("NewComments", "x")]
        )
        .await
        .0,
        StatusCode::OK
    );
    h.ram_ok("CreateUser", &[("UserName", "erin")]).await;
    assert_eq!(
        code(
            &h.call(
                &dave,
                RAM,
                "UpdateUser",
                &[("UserName", "erin"), ("NewComments", "x")]
            )
            .await
            .1
        ),
        "NoPermission"
    );

    // An explicit Deny beats the group's Allow, on the very next call.
    let deny =
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"ram:List*","Resource":"*"}]}"#;
    h.ram_ok(
        "CreatePolicyVersion",
        &[
            ("PolicyName", "self-edit"),
            ("PolicyDocument", deny),
            ("SetAsDefault", "true"),
        ],
    )
    .await;
    let (_, body) = h.call(&dave, RAM, "ListUsers", &[]).await;
    assert_eq!(code(&body), "NoPermission");
    assert_eq!(
        body["AccessDeniedDetail"]["NoPermissionType"],
        "ExplicitDeny"
    );
    // Rolling back the default version restores access at once.
    h.ram_ok(
        "SetDefaultPolicyVersion",
        &[("PolicyName", "self-edit"), ("VersionId", "v1")],
    )
    .await;
    assert_eq!(h.call(&dave, RAM, "ListUsers", &[]).await.0, StatusCode::OK);
    // Detaching the group policy takes effect on the next call.
    h.ram_ok(
        "DetachPolicyFromGroup",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("GroupName", "readers"),
        ],
    )
    .await;
    assert_eq!(
        code(&h.call(&dave, RAM, "ListUsers", &[]).await.1),
        "NoPermission"
    );
}

async fn call_from(
    h: &Harness,
    creds: &Credentials,
    peer: &str,
    action: &str,
) -> (StatusCode, Value) {
    let mut p = std::collections::BTreeMap::new();
    p.insert("Action".to_string(), action.to_string());
    p.insert("Version".to_string(), RAM.to_string());
    client::sign_v1("GET", &mut p, creds, &h.now(), &client::new_nonce());
    let mut req = Request::get(format!("/?{}", client::encode_query(&p)))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let (s, b, _) = h.send(req).await;
    (s, b)
}

#[tokio::test]
async fn source_ip_and_secure_transport_conditions() {
    let h = Harness::new().await;
    let frank = h.user_with_key("frank").await;
    let doc = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}]}"#;
    h.ram_ok(
        "CreatePolicy",
        &[("PolicyName", "office"), ("PolicyDocument", doc)],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "office"),
            ("UserName", "frank"),
        ],
    )
    .await;
    assert_eq!(
        call_from(&h, &frank, "10.1.2.3:4000", "ListUsers").await.0,
        StatusCode::OK
    );
    assert_eq!(
        call_from(&h, &frank, "[2001:db8::7]:4000", "ListUsers")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        code(&call_from(&h, &frank, "192.0.2.1:4000", "ListUsers").await.1),
        "NoPermission"
    );
    // Unknown source: the positive IP condition cannot hold.
    assert_eq!(
        code(&h.call(&frank, RAM, "ListUsers", &[]).await.1),
        "NoPermission"
    );

    let tls = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}"#;
    h.ram_ok(
        "CreatePolicy",
        &[("PolicyName", "tls-only"), ("PolicyDocument", tls)],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "tls-only"),
            ("UserName", "frank"),
        ],
    )
    .await;
    // rambridge itself serves plain HTTP and no proxy is trusted here.
    assert_eq!(
        code(
            &h.call(&frank, RAM, "GetUser", &[("UserName", "frank")])
                .await
                .1
        ),
        "NoPermission"
    );
}

#[tokio::test]
async fn policy_documents_and_versions() {
    let h = Harness::new().await;
    let body = h.ram_err("CreatePolicy", &[("PolicyName", "bad"), ("PolicyDocument", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"300.1.1.1"}}}]}"#)], "MalformedPolicyDocument").await;
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("Statement[0].Condition.IpAddress"),
        "{body}"
    );
    h.ram_err(
        "CreatePolicy",
        &[("PolicyName", "bad"), ("PolicyDocument", "{")],
        "MalformedPolicyDocument",
    )
    .await;
    h.ram_err(
        "CreatePolicy",
        &[
            ("PolicyName", "AdministratorAccess"),
            ("PolicyDocument", &allow("*", "*")),
        ],
        "EntityAlreadyExists.Policy",
    )
    .await;
    h.ram_err(
        "GetPolicy",
        &[("PolicyName", "bad")],
        "EntityNotExist.Policy",
    )
    .await;

    h.ram_ok(
        "CreatePolicy",
        &[
            ("PolicyName", "p"),
            ("PolicyDocument", &allow("ecs:*", "*")),
            ("Description", "d"),
        ],
    )
    .await;
    for _ in 0..4 {
        h.ram_ok(
            "CreatePolicyVersion",
            &[
                ("PolicyName", "p"),
                ("PolicyDocument", &allow("oss:*", "*")),
            ],
        )
        .await;
    }
    h.ram_err(
        "CreatePolicyVersion",
        &[
            ("PolicyName", "p"),
            ("PolicyDocument", &allow("oss:*", "*")),
        ],
        "LimitExceeded.Policy.Version",
    )
    .await;
    let v = h
        .ram_ok(
            "CreatePolicyVersion",
            &[
                ("PolicyName", "p"),
                ("PolicyDocument", &allow("rds:*", "*")),
                (
                    "RotateStrategy",
                    "DeleteOldestNonDefaultVersionWhenLimitExceeded",
                ),
                ("SetAsDefault", "true"),
            ],
        )
        .await;
    assert_eq!(v["PolicyVersion"]["VersionId"], "v6");
    let versions = h
        .ram_ok(
            "ListPolicyVersions",
            &[("PolicyName", "p"), ("PolicyType", "Custom")],
        )
        .await;
    let ids: Vec<&str> = versions["PolicyVersions"]["PolicyVersion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["v1", "v3", "v4", "v5", "v6"],
        "oldest non-default (v2) was rotated out"
    );
    h.ram_err(
        "DeletePolicyVersion",
        &[("PolicyName", "p"), ("VersionId", "v6")],
        "DeleteConflict.Policy.Version.Default",
    )
    .await;
    h.ram_ok(
        "DeletePolicyVersion",
        &[("PolicyName", "p"), ("VersionId", "v3")],
    )
    .await;
    let got = h
        .ram_ok(
            "GetPolicy",
            &[("PolicyName", "p"), ("PolicyType", "Custom")],
        )
        .await;
    assert_eq!(got["Policy"]["DefaultVersion"], "v6");
    assert_eq!(
        got["DefaultPolicyVersion"]["PolicyDocument"],
        allow("rds:*", "*")
    );
    h.ram_err(
        "DeletePolicy",
        &[("PolicyName", "p")],
        "DeleteConflict.Policy.Version",
    )
    .await;
    h.ram_ok(
        "DeletePolicy",
        &[("PolicyName", "p"), ("CascadingDelete", "true")],
    )
    .await;

    let sys = h
        .ram_ok(
            "GetPolicy",
            &[
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await;
    assert_eq!(sys["Policy"]["PolicyType"], "System");
    let list = h.ram_ok("ListPolicies", &[("PolicyType", "System")]).await;
    let names: Vec<&str> = list["Policies"]["Policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyName"].as_str().unwrap())
        .collect();
    for n in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "AliyunRAMFullAccess",
        "AliyunRAMReadOnlyAccess",
        "AliyunSTSAssumeRoleAccess",
    ] {
        assert!(names.contains(&n), "{n}");
    }
}

#[tokio::test]
async fn roles_validate_trust_and_duration() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    h.ram_err(
        "CreateRole",
        &[
            ("RoleName", "r"),
            ("AssumeRolePolicyDocument", &allow("sts:AssumeRole", "*")),
        ],
        "MalformedPolicyDocument",
    )
    .await;
    h.ram_err(
        "CreateRole",
        &[
            ("RoleName", "r"),
            ("AssumeRolePolicyDocument", &trust(&acct)),
            ("MaxSessionDuration", "100"),
        ],
        "InvalidParameter.MaxSessionDuration.Range",
    )
    .await;
    h.ram_err(
        "CreateRole",
        &[
            ("RoleName", "r_x"),
            ("AssumeRolePolicyDocument", &trust(&acct)),
        ],
        "InvalidParameter.RoleName.InvalidChars",
    )
    .await;
    let r = h
        .ram_ok(
            "CreateRole",
            &[
                ("RoleName", "app"),
                ("AssumeRolePolicyDocument", &trust(&acct)),
                ("MaxSessionDuration", "7200"),
            ],
        )
        .await;
    assert_eq!(r["Role"]["Arn"], format!("acs:ram::{acct}:role/app"));
    assert_eq!(r["Role"]["MaxSessionDuration"], 7200);
    let r = h
        .ram_ok(
            "UpdateRole",
            &[
                ("RoleName", "app"),
                ("NewMaxSessionDuration", "43200"),
                ("NewDescription", "d"),
            ],
        )
        .await;
    assert_eq!(r["Role"]["MaxSessionDuration"], 43200);
    let got = h.ram_ok("GetRole", &[("RoleName", "app")]).await;
    assert_eq!(got["Role"]["AssumeRolePolicyDocument"], trust(&acct));
    assert_eq!(
        h.ram_ok("ListRoles", &[]).await["Roles"]["Role"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn login_profiles_follow_the_password_policy() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "gina")]).await;
    let body = h
        .ram_err(
            "CreateLoginProfile",
            &[("UserName", "gina"), ("Password", "short")],
            "InvalidParameter.Password.TooWeak",
        )
        .await;
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("at least 8 characters")
    );
    h.ram_ok(
        "SetPasswordPolicy",
        &[("MinimumPasswordLength", "12"), ("RequireSymbols", "True")],
    )
    .await;
    h.ram_err(
        "CreateLoginProfile",
        &[("UserName", "gina"), ("Password", "Passw0rdOK")],
        "InvalidParameter.Password.TooWeak",
    )
    .await;
    let p = h
        .ram_ok(
            "CreateLoginProfile",
            &[
                ("UserName", "gina"),
                ("Password", "Passw0rd!Long"),
                ("PasswordResetRequired", "True"),
            ],
        )
        .await;
    assert_eq!(p["LoginProfile"]["PasswordResetRequired"], true);
    h.ram_err(
        "CreateLoginProfile",
        &[("UserName", "gina"), ("Password", "Passw0rd!Long")],
        "EntityAlreadyExists.User.LoginProfile",
    )
    .await;
    h.ram_ok(
        "UpdateLoginProfile",
        &[("UserName", "gina"), ("MFABindRequired", "true")],
    )
    .await;
    assert_eq!(
        h.ram_ok("GetLoginProfile", &[("UserName", "gina")]).await["LoginProfile"]["MFABindRequired"],
        true
    );
    let pol = h.ram_ok("GetPasswordPolicy", &[]).await;
    assert_eq!(pol["PasswordPolicy"]["MinimumPasswordLength"], 12);
    assert!(pol["PasswordPolicy"].get("MaxLoginAttemps").is_some());
    h.ram_err(
        "SetPasswordPolicy",
        &[("MinimumPasswordLength", "6")],
        "InvalidParameter.MinimumPasswordLength.Range",
    )
    .await;
}

#[tokio::test]
async fn virtual_mfa_binding() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "hal")]).await;
    let d = h
        .ram_ok(
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "hal-phone")],
        )
        .await;
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        serial,
        format!("acs:ram::{}:mfa/hal-phone", h.account.account_id)
    );
    let seed =
        totp::base32_decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap()).unwrap();
    assert_eq!(seed.len(), totp::SEED_LEN);
    assert!(
        !d["VirtualMFADevice"]["QRCodePNG"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    h.ram_err(
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", "hal-phone")],
        "EntityAlreadyExists.VirtualMFADevice",
    )
    .await;

    let now = u64::try_from(crate::clock::Clock::now(h.clock.as_ref()).timestamp()).unwrap();
    let c1 = totp::code_at(&seed, now);
    let c2 = totp::code_at(&seed, now + totp::STEP_SECONDS);
    h.ram_err(
        "BindMFADevice",
        &[
            ("SerialNumber", &serial),
            ("UserName", "hal"),
            ("AuthenticationCode1", &c2),
            ("AuthenticationCode2", &c1),
        ],
        "CheckAuthenticationCodeFail",
    )
    .await;
    h.ram_err(
        "BindMFADevice",
        &[
            ("SerialNumber", &serial),
            ("UserName", "hal"),
            ("AuthenticationCode1", "12ab56"),
            ("AuthenticationCode2", &c2),
        ],
        "InvalidParameter.AuthenticationCode1.Format",
    )
    .await;
    h.ram_ok(
        "BindMFADevice",
        &[
            ("SerialNumber", &serial),
            ("UserName", "hal"),
            ("AuthenticationCode1", &c1),
            ("AuthenticationCode2", &c2),
        ],
    )
    .await;
    assert_eq!(
        h.ram_ok("GetUserMFAInfo", &[("UserName", "hal")]).await["MFADevice"]["SerialNumber"],
        serial.as_str()
    );
    let list = h.ram_ok("ListVirtualMFADevices", &[]).await;
    assert_eq!(
        list["VirtualMFADevices"]["VirtualMFADevice"][0]["User"]["UserName"],
        "hal"
    );
    h.ram_err(
        "DeleteVirtualMFADevice",
        &[("SerialNumber", &serial)],
        "DeleteConflict.VirtualMFADevice.User",
    )
    .await;
    h.ram_err(
        "DeleteUser",
        &[("UserName", "hal")],
        "DeleteConflict.User.MFADevice",
    )
    .await;
    assert_eq!(
        h.ram_ok("UnbindMFADevice", &[("UserName", "hal")]).await["MFADevice"]["SerialNumber"],
        serial.as_str()
    );
    h.ram_ok("DeleteVirtualMFADevice", &[("SerialNumber", &serial)])
        .await;
    h.ram_ok("DeleteUser", &[("UserName", "hal")]).await;
}

#[tokio::test]
async fn accounts_are_isolated() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "ivy")]).await;
    let other = crate::ram::create_account(
        &h.state.store,
        &h.state.keys,
        h.clock.as_ref(),
        "other-corp",
    )
    .await
    .unwrap();
    let other_root = Credentials {
        access_key_id: other.access_key_id,
        access_key_secret: other.access_key_secret,
        security_token: None,
    };
    let (_, body) = h
        .call(&other_root, RAM, "GetUser", &[("UserName", "ivy")])
        .await;
    assert_eq!(code(&body), "EntityNotExist.User");
    let (status, body) = h
        .call(&other_root, RAM, "CreateUser", &[("UserName", "ivy")])
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "same name in another account: {body}"
    );
    let (_, body) = h.call(&other_root, RAM, "ListUsers", &[]).await;
    assert_eq!(body["Users"]["User"].as_array().unwrap().len(), 1);
}
