//! The aliyun CLI configuration writer: the named profile changes, every other byte survives.

use super::*;

fn profile(name: &str) -> StsProfile<'_> {
    StsProfile {
        name,
        access_key_id: "STS.NEWKEYID1234567890abcd",
        access_key_secret: "new-secret/with+chars=",
        sts_token: "RBS1.new-token_\"quoted\"",
        region_id: "cn-shanghai",
    }
}

/// A configuration as `aliyun configure` writes it (tabs, Go's escaping of `<>&`), with
/// several profiles, an unknown key, non-ASCII text and the profile to update in the middle.
fn realistic(login_fields: &str) -> String {
    format!(
        "{{\n\t\"current\": \"work\",\n\t\"profiles\": [\n\t\t{{\n\t\t\t\"name\": \"default\",\n\t\t\t\"mode\": \"AK\",\n\t\t\t\"access_key_id\": \"LTAI5tDefaultKey\",\n\t\t\t\"access_key_secret\": \"defaultSecret\",\n\t\t\t\"region_id\": \"cn-hangzhou\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"zh\",\n\t\t\t\"site\": \"\\u003cintl\\u003e \\u0026 co\"\n\t\t}},\n\t\t{{\n\t\t\t\"name\": \"rambridge\",\n{login_fields}\t\t\t\"region_id\": \"eu-central-1\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"en\",\n\t\t\t\"x_unknown\": {{\"nested\": [1, 2.5e3, true, null, \"é\"]}}\n\t\t}},\n\t\t{{\n\t\t\t\"name\": \"work\",\n\t\t\t\"mode\": \"RamRoleArn\",\n\t\t\t\"access_key_id\": \"LTAI5tWork\",\n\t\t\t\"access_key_secret\": \"workSecret\",\n\t\t\t\"ram_role_arn\": \"acs:ram::1234567890123456:role/ops\",\n\t\t\t\"ram_session_name\": \"me\",\n\t\t\t\"region_id\": \"cn-beijing\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"en\"\n\t\t}}\n\t],\n\t\"meta_path\": \"\",\n\t\"plugin_settings\": {{\"auto\": false}}\n}}\n"
    )
}

fn fields(mode: &str, id: &str, secret: &str, token: &str) -> String {
    format!(
        "\t\t\t\"mode\": {},\n\t\t\t\"access_key_id\": {},\n\t\t\t\"access_key_secret\": {},\n\t\t\t\"sts_token\": {},\n",
        json_string(mode),
        json_string(id),
        json_string(secret),
        json_string(token)
    )
}

#[test]
fn updating_a_profile_changes_only_its_four_values() {
    let before = realistic(&fields("StsToken", "STS.old", "oldSecret", "RBS1.old"));
    let after = update(Some(&before), &profile("rambridge")).unwrap();
    let p = profile("rambridge");
    let expected = realistic(&fields(
        "StsToken",
        p.access_key_id,
        p.access_key_secret,
        p.sts_token,
    ));
    assert_eq!(after, expected);
    // The profiles before and after it are byte-for-byte the same text.
    let default_end = before
        .find("\t\t},\n\t\t{\n\t\t\t\"name\": \"rambridge\"")
        .unwrap();
    assert_eq!(after[..default_end], before[..default_end]);
    let work = before.find("\t\t{\n\t\t\t\"name\": \"work\"").unwrap();
    assert!(after.ends_with(&before[work..]));
}

#[test]
fn a_profile_in_another_mode_becomes_sts_token_and_missing_fields_are_added() {
    let before = realistic("\t\t\t\"mode\": \"AK\",\n\t\t\t\"access_key_id\": \"LTAI5tOld\",\n");
    let after = update(Some(&before), &profile("rambridge")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    let p = &v["profiles"][1];
    assert_eq!(p["name"], "rambridge");
    assert_eq!(p["mode"], "StsToken");
    assert_eq!(p["access_key_id"], "STS.NEWKEYID1234567890abcd");
    assert_eq!(p["access_key_secret"], "new-secret/with+chars=");
    assert_eq!(p["sts_token"], "RBS1.new-token_\"quoted\"");
    assert_eq!(p["region_id"], "eu-central-1", "existing settings are kept");
    assert_eq!(p["x_unknown"]["nested"][4], "é");
    // The inserted keys use the profile's own indentation, after its last key.
    assert!(
        after.contains("\"x_unknown\": {\"nested\": [1, 2.5e3, true, null, \"é\"]},\n\t\t\t\"access_key_secret\": "),
        "{after}"
    );
    let work = before.find("\t\t{\n\t\t\t\"name\": \"work\"").unwrap();
    assert!(after.ends_with(&before[work..]));
    let rambridge = before.find("\t\t{\n\t\t\t\"name\": \"rambridge\"").unwrap();
    assert_eq!(after[..rambridge], before[..rambridge]);
}

#[test]
fn a_new_profile_is_appended_and_nothing_else_moves() {
    let before = realistic(&fields("AK", "LTAIx", "y", ""));
    let after = update(Some(&before), &profile("login")).unwrap();
    let end_of_list = before.find("\n\t],\n\t\"meta_path\"").unwrap();
    assert_eq!(after[..end_of_list], before[..end_of_list]);
    assert!(after.ends_with(&before[end_of_list..]));
    let added = &after[end_of_list..after.len() - (before.len() - end_of_list)];
    assert_eq!(
        added,
        ",\n\t\t{\n\t\t\t\"name\": \"login\",\n\t\t\t\"mode\": \"StsToken\",\n\t\t\t\"access_key_id\": \"STS.NEWKEYID1234567890abcd\",\n\t\t\t\"access_key_secret\": \"new-secret/with+chars=\",\n\t\t\t\"sts_token\": \"RBS1.new-token_\\\"quoted\\\"\",\n\t\t\t\"region_id\": \"cn-shanghai\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"en\"\n\t\t}"
    );
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["current"], "work", "the current profile is not switched");
    assert_eq!(v["profiles"].as_array().unwrap().len(), 4);
}

#[test]
fn the_first_profile_of_a_duplicated_name_is_the_one_updated() {
    // The aliyun CLI reads the first profile with a name; so do we.
    let before =
        "{\"profiles\":[{\"name\":\"p\",\"mode\":\"AK\"},{\"name\":\"p\",\"mode\":\"AK\"}]}";
    let after = update(Some(before), &profile("p")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["profiles"][0]["mode"], "StsToken");
    assert_eq!(v["profiles"][1]["mode"], "AK");
    assert!(
        after.ends_with(",{\"name\":\"p\",\"mode\":\"AK\"}]}"),
        "{after}"
    );
}

#[test]
fn compact_and_empty_shapes() {
    for before in [
        "{\"current\":\"default\",\"profiles\":[],\"meta_path\":\"\"}",
        "{\"current\":\"default\",\"profiles\":[\n],\"meta_path\":\"\"}",
        "{\"profiles\":[{\"name\":\"other\"}]}",
        "{\"profiles\":[{\"name\":\"p\"}]}",
        "{\"profiles\":[{}]}",
        "{\n  \"profiles\": [\n    {\n      \"name\": \"p\"\n    }\n  ]\n}",
        "  {\"profiles\" : [ { \"name\" : \"p\" , \"mode\" : \"AK\" } ] }  ",
    ] {
        let after = update(Some(before), &profile("p")).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&after).unwrap_or_else(|e| panic!("{before}: {e}\n{after}"));
        let p = v["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "p")
            .unwrap_or_else(|| panic!("{before} -> {after}"));
        assert_eq!(p["mode"], "StsToken", "{before}");
        assert_eq!(p["sts_token"], "RBS1.new-token_\"quoted\"");
    }
    // Indentation of a two-space file is followed.
    let after = update(
        Some("{\n  \"profiles\": [\n    {\n      \"name\": \"p\"\n    }\n  ]\n}"),
        &profile("p"),
    )
    .unwrap();
    assert!(after.contains("\n      \"mode\": \"StsToken\""), "{after}");
}

#[test]
fn a_missing_file_starts_the_aliyun_layout() {
    for existing in [None, Some(""), Some("  \n")] {
        let text = update(existing, &profile("login")).unwrap();
        assert!(text.starts_with("{\n\t\"current\": \"login\",\n\t\"profiles\": [\n\t\t{\n\t\t\t\"name\": \"login\",\n\t\t\t\"mode\": \"StsToken\""), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["profiles"][0]["region_id"], "cn-shanghai");
        assert_eq!(v["meta_path"], "");
    }
}

#[test]
fn broken_or_foreign_files_are_refused() {
    for (before, want) in [
        ("{\"profiles\": [", "not valid JSON"),
        ("[1,2]", "not an object"),
        ("{\"current\":\"x\"}", "no \"profiles\" list"),
        ("{\"profiles\":{}}", "not a list"),
    ] {
        let err = update(Some(before), &profile("p")).unwrap_err().to_string();
        assert!(err.contains(want), "{before}: {err}");
    }
}

#[test]
fn write_profile_is_atomic_private_and_leaves_bad_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".aliyun/config.json");
    write_profile(&path, &profile("login")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{not json").unwrap();
    let err = write_profile(&broken, &profile("login")).unwrap_err();
    assert!(err.to_string().contains("left unchanged"), "{err}");
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{not json");
}
