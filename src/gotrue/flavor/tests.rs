use std::time::Duration;

use serde_json::json;

use super::*;

#[test]
fn detects_the_flavour_from_the_settings_fields() {
    let netlify =
        json!({"external": {"email": true}, "disable_signup": false, "autoconfirm": true});
    let supabase = json!({"external": {"email": true}, "disable_signup": false, "mailer_autoconfirm": false, "phone_autoconfirm": false});
    assert_eq!(Flavor::detect(&netlify), Ok(Flavor::Netlify));
    assert_eq!(Flavor::detect(&supabase), Ok(Flavor::Supabase));
    let neither = Flavor::detect(&json!({"external": {}})).expect_err("neither");
    assert!(neither.to_string().contains("--flavor"), "{neither}");
    assert!(Flavor::detect(&json!({"autoconfirm": true, "mailer_autoconfirm": true})).is_err());
    assert!(Flavor::detect(&json!([1])).is_err());
}

#[test]
fn url_shapes_that_give_the_flavour_away() {
    assert_eq!(
        Flavor::from_url_shape("https://abcd.supabase.co/auth/v1"),
        Some(Flavor::Supabase)
    );
    assert_eq!(
        Flavor::from_url_shape("http://127.0.0.1:8000/auth/v1/"),
        Some(Flavor::Supabase)
    );
    assert_eq!(
        Flavor::from_url_shape("https://site.example/.netlify/identity"),
        Some(Flavor::Netlify)
    );
    assert_eq!(Flavor::from_url_shape("http://127.0.0.1:9999"), None);
    assert_eq!(Flavor::from_url_shape("not a url"), None);
}

#[test]
fn flavour_choice_auto_leaves_detection_to_the_server() {
    assert_eq!(FlavorChoice::default(), FlavorChoice::Auto);
    assert_eq!(FlavorChoice::Auto.fixed(), None);
    assert_eq!(FlavorChoice::Supabase.fixed(), Some(Flavor::Supabase));
    assert_eq!(FlavorChoice::Netlify.fixed(), Some(Flavor::Netlify));
    assert_eq!(Flavor::Supabase.to_string(), "supabase");
    assert_eq!(
        serde_json::to_value(Flavor::Netlify).expect("json"),
        json!("netlify")
    );
}

#[test]
fn admin_claims_per_flavour() {
    let lifetime = Duration::from_secs(300);
    assert_eq!(
        Flavor::Netlify.admin_claims("site", 1000, lifetime),
        json!({"sub": "0", "aud": "site", "exp": 1300})
    );
    assert_eq!(
        Flavor::Supabase.admin_claims("site", 1000, lifetime),
        json!({"role": "service_role", "iat": 1000, "exp": 1300})
    );
}

#[test]
fn admin_credentials_go_in_the_headers_each_server_reads() {
    let jwt = Secret::new("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.sig");
    let secret_key = Secret::new("sb_secret_abc123");
    assert_eq!(
        Flavor::Netlify.admin_auth_headers(&jwt, false),
        AuthHeaders {
            bearer: Some(jwt.clone()),
            apikey: None
        }
    );
    assert_eq!(
        Flavor::Supabase.admin_auth_headers(&jwt, false),
        AuthHeaders {
            bearer: Some(jwt.clone()),
            apikey: Some(jwt.clone())
        },
        "a legacy service_role key is both the bearer and the apikey"
    );
    assert_eq!(
        Flavor::Supabase.admin_auth_headers(&secret_key, false),
        AuthHeaders {
            bearer: None,
            apikey: Some(secret_key.clone())
        },
        "an sb_secret_ key is not a JWT: apikey only"
    );
    assert_eq!(
        Flavor::Supabase.admin_auth_headers(&jwt, true),
        AuthHeaders {
            bearer: Some(jwt.clone()),
            apikey: None
        },
        "a minted token is not a gateway key"
    );
}

#[test]
fn credentials_that_cannot_work_are_refused_with_a_reason() {
    let publishable = Secret::new("sb_publishable_xyz");
    let secret_key = Secret::new("sb_secret_abc");
    let refused = Flavor::Supabase
        .refuse_admin_credential(&publishable)
        .expect("publishable refused");
    assert!(refused.contains("sb_secret_"), "{refused}");
    assert!(!refused.contains("xyz"), "the key itself never appears");
    assert!(Flavor::Supabase
        .refuse_admin_credential(&secret_key)
        .is_none());
    assert!(Flavor::Netlify
        .refuse_admin_credential(&secret_key)
        .is_some());
    assert!(Flavor::Netlify
        .refuse_admin_credential(&Secret::new("operator-token"))
        .is_none());
    assert!(Flavor::Netlify.refuse_password_admin().is_none());
    let why = Flavor::Supabase.refuse_password_admin().expect("refused");
    assert!(why.contains("service_role"), "{why}");
}

#[test]
fn write_and_read_fields_per_flavour() {
    assert_eq!(Flavor::Netlify.confirm_field(), "confirm");
    assert_eq!(Flavor::Supabase.confirm_field(), "email_confirm");
    assert!(!Flavor::Netlify.create_sets_app_metadata());
    assert!(Flavor::Supabase.create_sets_app_metadata());
    assert_eq!(Flavor::Netlify.autoconfirm_field(), "autoconfirm");
    assert_eq!(Flavor::Supabase.autoconfirm_field(), "mailer_autoconfirm");
    assert_eq!(Flavor::Netlify.default_role(), "");
    assert_eq!(Flavor::Supabase.default_role(), "authenticated");
    assert!(Flavor::Supabase.has_generate_link());
    assert!(!Flavor::Netlify.has_generate_link());
}

#[test]
fn admin_writes_confirm_with_the_field_each_server_reads() {
    let body = json!({"confirm": true, "role": "editor"});
    assert_eq!(Flavor::Netlify.admin_write_body(body.clone()), body);
    assert_eq!(
        Flavor::Supabase.admin_write_body(body),
        json!({"role": "editor", "email_confirm": true})
    );
    assert_eq!(
        Flavor::Supabase.admin_write_body(json!({"role": "x"})),
        json!({"role": "x"})
    );
}

#[test]
fn user_flow_encodings_per_flavour() {
    assert_eq!(Flavor::Netlify.token_encoding(), TokenEncoding::Form);
    assert_eq!(
        Flavor::Supabase.token_encoding(),
        TokenEncoding::QueryAndJson
    );
    assert_eq!(
        Flavor::Netlify.verify_encoding(),
        VerifyEncoding::TokenAndPassword
    );
    assert_eq!(
        Flavor::Supabase.verify_encoding(),
        VerifyEncoding::TokenHashThenPassword
    );
    assert_eq!(
        Flavor::Netlify.rotation_check(),
        RotationCheck::ParentRefused
    );
    assert_eq!(
        Flavor::Supabase.rotation_check(),
        RotationCheck::ParentReturnsActive
    );
}

#[test]
fn lookups_are_lower_cased_where_the_filter_is_case_sensitive() {
    assert_eq!(
        Flavor::Supabase.lookup_filter(" Alice@Example.COM "),
        "alice@example.com"
    );
    assert_eq!(
        Flavor::Netlify.lookup_filter(" Alice@Example.COM "),
        "Alice@Example.COM"
    );
}

#[test]
fn server_owned_keys_per_flavour() {
    use MetadataMap::{App, User};
    for flavor in Flavor::ALL {
        assert!(flavor.is_server_owned(App, "provider"));
        assert!(!flavor.is_server_owned(App, "roles"));
        assert!(!flavor.is_server_owned(User, "full_name"));
    }
    assert!(Flavor::Supabase.is_server_owned(App, "providers"));
    for key in ["email_verified", "email", "sub", "phone_verified"] {
        assert!(Flavor::Supabase.is_server_owned(User, key), "{key}");
        assert!(!Flavor::Netlify.is_server_owned(User, key), "{key}");
    }
}

#[test]
fn the_manifest_knows_every_built_in_admin_role() {
    use crate::manifest::{ADMIN_GROUP, ADMIN_ROLES};
    for role in SUPABASE_ADMIN_ROLES.iter().chain([&ADMIN_GROUP]) {
        assert!(ADMIN_ROLES.contains(role), "{role}");
    }
    for role in ADMIN_ROLES {
        assert!(Flavor::ALL
            .iter()
            .any(|f| f.role_opens_admin_api(role, ADMIN_GROUP)));
    }
}

#[test]
fn admin_roles_per_flavour() {
    assert!(Flavor::Supabase.role_opens_admin_api("service_role", "admin"));
    assert!(Flavor::Supabase.role_opens_admin_api(" supabase_admin ", "admin"));
    assert!(!Flavor::Supabase.role_opens_admin_api("ops_admin", "admin"));
    assert!(!Flavor::Supabase.role_opens_admin_api("authenticated", "admin"));
    assert!(
        !Flavor::Supabase.role_opens_admin_api("admin", "admin"),
        "`admin` is an ordinary role on Supabase"
    );
    assert!(Flavor::Netlify.role_opens_admin_api("admin", "admin"));
    assert!(Flavor::Netlify.role_opens_admin_api("superusers", "superusers"));
    assert!(!Flavor::Netlify.role_opens_admin_api("admin", "superusers"));
    assert!(!Flavor::Netlify.role_opens_admin_api("service_role", "admin"));
}

#[test]
fn reads_every_error_shape() {
    let netlify = ServerError::parse(
        None,
        br#"{"code":422,"msg":"Email address already registered by another user"}"#,
    );
    assert_eq!(netlify.code, None);
    assert_eq!(
        netlify.describe(),
        "Email address already registered by another user"
    );

    let supabase = ServerError::parse(
        Some("email_exists"),
        br#"{"code":422,"error_code":"email_exists","msg":"A user with this email address has already been registered"}"#,
    );
    assert_eq!(supabase.code.as_deref(), Some("email_exists"));
    assert!(supabase
        .describe()
        .starts_with("another user already has this e-mail address (email_exists)"));
    assert!(supabase.describe().contains("already been registered"));

    let versioned = ServerError::parse(
        None,
        br#"{"code":"over_email_send_rate_limit","message":"email rate limit exceeded"}"#,
    );
    assert_eq!(
        versioned.code.as_deref(),
        Some("over_email_send_rate_limit")
    );
    assert!(versioned.describe().contains("30 mails an hour"));

    let header_only = ServerError::parse(
        Some("validation_failed"),
        br#"{"code":400,"msg":"Unable to validate email address: invalid format"}"#,
    );
    assert!(header_only
        .describe()
        .starts_with("the server refused the request as invalid (validation_failed)"));

    let postgres = ServerError::parse(
        None,
        br#"{"code":"23505","message":"duplicate key value violates unique constraint \"users_email_partial_key\"","detail":"Key (email)=(b@example.com) already exists."}"#,
    );
    assert_eq!(postgres.code.as_deref(), Some("23505"));
    let described = postgres.describe();
    assert!(
        described.contains("unique across all audiences"),
        "{described}"
    );
    assert!(described.contains("already exists"), "{described}");

    let weak = ServerError::parse(
        Some("weak_password"),
        br#"{"code":422,"error_code":"weak_password","msg":"Password should be at least 6 characters.","weak_password":{"reasons":["length"]}}"#,
    );
    assert!(weak.describe().contains("too weak"));
    assert!(weak.describe().contains("[length]"));

    let oauth = ServerError::parse(
        None,
        br#"{"error":"invalid_grant","error_description":"Email not confirmed"}"#,
    );
    assert_eq!(oauth.code.as_deref(), Some("invalid_grant"));
    assert_eq!(oauth.describe(), "invalid_grant: Email not confirmed");

    assert_eq!(
        ServerError::parse(None, b"<html>bad gateway</html>").describe(),
        "<html>bad gateway</html>"
    );
    assert_eq!(ServerError::parse(None, b"").describe(), "(empty body)");
}

#[test]
fn authentication_failures_get_a_hint_about_the_key() {
    let bad_jwt = ServerError::parse(
        Some("bad_jwt"),
        br#"{"code":403,"error_code":"bad_jwt","msg":"invalid JWT: unable to parse or verify signature"}"#,
    );
    assert!(bad_jwt
        .admin_credential_hint(Some(Flavor::Supabase), 403)
        .expect("hint")
        .contains("secret key"));
    let not_admin = ServerError::parse(
        None,
        br#"{"code":403,"error_code":"not_admin","msg":"User not allowed"}"#,
    );
    assert!(not_admin
        .admin_credential_hint(Some(Flavor::Supabase), 403)
        .expect("hint")
        .contains("service_role"));
    let netlify = ServerError::parse(None, br#"{"code":401,"msg":"User not allowed"}"#);
    assert!(netlify
        .admin_credential_hint(Some(Flavor::Netlify), 401)
        .expect("hint")
        .contains("operator token"));
    assert!(netlify
        .admin_credential_hint(Some(Flavor::Netlify), 500)
        .is_none());
}
