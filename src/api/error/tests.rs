use axum::http::StatusCode;

use super::*;

/// Every row of the gateway table: status and code as the spec (§3.2) lists them.
#[test]
fn constructor_table() {
    let rows: Vec<(ApiError, StatusCode, &str)> = vec![
        (
            ApiError::missing_parameter("RoleArn"),
            StatusCode::BAD_REQUEST,
            "MissingParameter.RoleArn",
        ),
        (
            ApiError::invalid_parameter("RoleArn", "x"),
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleArn",
        ),
        (
            ApiError::malformed_request("x"),
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
        ),
        (
            ApiError::too_large(10),
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
        ),
        (
            ApiError::unknown_action(),
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
        ),
        (
            ApiError::internal("R", &"boom"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
        ),
        (
            ApiError::throttled(0),
            StatusCode::TOO_MANY_REQUESTS,
            "Throttling.User",
        ),
    ];
    for (err, status, code) in rows {
        assert_eq!(err.status, status, "{code}");
        assert_eq!(err.code, code);
        assert!(!err.message.is_empty());
    }
}

#[test]
fn internal_errors_hide_the_cause() {
    let err = ApiError::internal("REQ-1", &"password=hunter2 in connection string");
    assert!(!err.message.contains("hunter2"));
    assert!(err.message.contains("REQ-1"));
}

#[test]
fn throttling_always_carries_a_positive_retry_after() {
    assert_eq!(ApiError::throttled(0).retry_after, Some(1));
    assert_eq!(ApiError::throttled(3).retry_after, Some(3));
}

#[test]
fn ram_errors_map() {
    let e = from_ram("R", RamError::AccountAliasTaken("acme".into()));
    assert_eq!(
        (e.status, e.code.as_ref()),
        (StatusCode::CONFLICT, "EntityAlreadyExists.AccountAlias")
    );
    let e = from_ram("R", RamError::InvalidAccountAlias("bad".into()));
    assert_eq!(
        (e.status, e.code.as_ref()),
        (StatusCode::BAD_REQUEST, "InvalidParameter.AccountAlias")
    );
}

#[test]
fn ram_family_codes() {
    let rows: Vec<(RamError, StatusCode, &str)> = vec![
        (
            RamError::Invalid {
                field: "UserName",
                kind: "Length",
                message: "m".into(),
            },
            StatusCode::BAD_REQUEST,
            "InvalidParameter.UserName.Length",
        ),
        (
            RamError::not_found("User", "bob"),
            StatusCode::NOT_FOUND,
            "EntityNotExist.User",
        ),
        (
            RamError::exists("Group", "g"),
            StatusCode::CONFLICT,
            "EntityAlreadyExists.Group",
        ),
        (
            RamError::from(StoreError::InUse {
                what: "User.AccessKey",
            }),
            StatusCode::CONFLICT,
            "DeleteConflict.User.AccessKey",
        ),
        (
            RamError::from(StoreError::LimitExceeded {
                what: "User.AccessKey",
            }),
            StatusCode::CONFLICT,
            "LimitExceeded.User.AccessKey",
        ),
        (
            RamError::PasswordTooWeak("m".into()),
            StatusCode::BAD_REQUEST,
            "InvalidParameter.Password.TooWeak",
        ),
        (
            RamError::AuthenticationCode,
            StatusCode::FORBIDDEN,
            "CheckAuthenticationCodeFail",
        ),
    ];
    for (err, status, code) in rows {
        let e = from_ram("R", err);
        assert_eq!((e.status, e.code.as_ref()), (status, code));
    }
}

#[test]
fn no_permission_carries_detail() {
    let e = no_permission("ram:CreateUser", "SubUser", "1", "bob", false);
    assert_eq!(
        (e.status, e.code.as_ref()),
        (StatusCode::FORBIDDEN, "NoPermission")
    );
    let d = e.access_denied_detail.unwrap();
    assert_eq!(d["AuthAction"], "ram:CreateUser");
    assert_eq!(d["NoPermissionType"], "ImplicitDeny");
    assert!(e.message.contains("ram:CreateUser"));
}

#[test]
fn sts_codes() {
    use crate::sts::{StsError, TokenError};
    let rows: Vec<(StsError, StatusCode, &str)> = vec![
        (
            StsError::InvalidRoleArn("x".into()),
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleArn",
        ),
        (
            StsError::InvalidSessionName,
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleSessionName",
        ),
        (
            StsError::InvalidDuration {
                min: 900,
                max: 3600,
                why: "",
            },
            StatusCode::BAD_REQUEST,
            "InvalidParameter.DurationSeconds",
        ),
        (
            StsError::PolicySize(2048),
            StatusCode::BAD_REQUEST,
            "InvalidParameter.PolicySize",
        ),
        (
            StsError::InvalidExternalId,
            StatusCode::BAD_REQUEST,
            "InvalidParameter.ExternalId",
        ),
        (
            StsError::RoleNotFound("r".into()),
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
        ),
        (
            StsError::NotTrusted {
                role: "r".into(),
                caller: "c".into(),
            },
            StatusCode::FORBIDDEN,
            "NoPermission",
        ),
        (
            TokenError::Malformed("m".into()).into(),
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Malformed",
        ),
        (
            TokenError::Expired("t".into()).into(),
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Expired",
        ),
        (
            TokenError::Mismatch("k".into()).into(),
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.MismatchWithAccessKey",
        ),
        (
            TokenError::Revoked("r".into()).into(),
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Revoked",
        ),
    ];
    for (err, status, code) in rows {
        let e = from_sts("R", err);
        assert_eq!((e.status, e.code.as_ref()), (status, code));
    }
}
