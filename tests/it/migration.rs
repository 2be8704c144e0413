//! Netlify Identity → Supabase Auth with one manifest: `export` from a netlify-flavoured
//! emulator, `apply` to a supabase-flavoured one, and a `plan` there that is empty
//! afterwards. A stateful wiremock fake of supabase/auth's admin API stays for what the
//! emulator cannot show: the exact bodies the migration writes (no server-owned key in any)
//! and the newer `sb_secret_…` key, which only the hosted gateway understands.

use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::binary::gotrue_sync;
use crate::support::emulator::{binary, seeded, start_supabase, supabase_binary};
use crate::support::mock::requests;
use crate::support::users::seed;
use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};

const SECRET_KEY: &str = "sb_secret_NEVER-PRINTED-migration";

/// supabase/auth's admin API over an in-memory user list.
#[derive(Clone, Default)]
struct FakeSupabase {
    users: Arc<Mutex<Vec<Value>>>,
}

/// The shallow merge both servers use: a `null` value removes the key.
fn merge(stored: &mut Value, patch: &Value) {
    let (Some(stored), Some(patch)) = (stored.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            stored.remove(key);
        } else {
            stored.insert(key.clone(), value.clone());
        }
    }
}

impl FakeSupabase {
    fn new_user(users: &[Value], email: &str, data: &Value) -> Value {
        let id = format!("5b0c2e9e-0000-4000-8000-{:012}", users.len() + 1);
        let mut user_metadata =
            json!({"email": email, "email_verified": false, "phone_verified": false, "sub": id});
        merge(&mut user_metadata, data);
        json!({"id": id, "aud": "authenticated", "role": "authenticated", "email": email.to_lowercase(),
               "app_metadata": {"provider": "email", "providers": ["email"]},
               "user_metadata": user_metadata,
               "created_at": "2026-11-29T10:00:00Z", "updated_at": "2026-11-29T10:00:00Z"})
    }
}

impl Respond for FakeSupabase {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        if path == "/settings" {
            return ResponseTemplate::new(200).set_body_json(
                json!({"external": {"email": true}, "disable_signup": false, "mailer_autoconfirm": false}),
            );
        }
        let admitted = request
            .headers
            .get("apikey")
            .is_some_and(|v| v.as_bytes() == SECRET_KEY.as_bytes());
        if !admitted {
            return ResponseTemplate::new(401).set_body_json(
                json!({"code": 401, "error_code": "no_authorization", "msg": "no key"}),
            );
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut users = self.users.lock().expect("users");
        let ok = |user: &Value| ResponseTemplate::new(200).set_body_json(user);
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/admin/users") => ResponseTemplate::new(200)
                .insert_header("X-Total-Count", users.len().to_string().as_str())
                .set_body_json(json!({"aud": "authenticated", "users": *users})),
            ("POST", "/invite") => {
                let email = body["email"].as_str().unwrap_or_default();
                let mut user = FakeSupabase::new_user(&users, email, &body["data"]);
                user["invited_at"] = json!("2026-11-29T10:00:00Z");
                users.push(user.clone());
                ok(&user)
            }
            ("POST", "/admin/users") => {
                let email = body["email"].as_str().unwrap_or_default();
                let mut user = FakeSupabase::new_user(&users, email, &body["user_metadata"]);
                merge(&mut user["app_metadata"], &body["app_metadata"]);
                if let Some(role) = body["role"].as_str() {
                    user["role"] = json!(role);
                }
                if body["email_confirm"] == true {
                    user["email_confirmed_at"] = json!("2026-11-29T10:00:00Z");
                }
                users.push(user.clone());
                ok(&user)
            }
            ("PUT", p) if p.starts_with("/admin/users/") => {
                let id = p.trim_start_matches("/admin/users/");
                let Some(user) = users.iter_mut().find(|u| u["id"] == id) else {
                    return ResponseTemplate::new(404)
                        .set_body_json(json!({"code": 404, "error_code": "user_not_found", "msg": "User not found"}));
                };
                merge(&mut user["app_metadata"], &body["app_metadata"]);
                merge(&mut user["user_metadata"], &body["user_metadata"]);
                if let Some(role) = body["role"].as_str() {
                    user["role"] = json!(role);
                }
                if body["email_confirm"] == true {
                    user["email_confirmed_at"] = json!("2026-11-29T10:00:00Z");
                }
                ok(user)
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"code": 404, "msg": "no route"})),
        }
    }
}

fn supabase(server: &MockServer) -> assert_cmd::Command {
    let mut command = gotrue_sync();
    command
        .env("GOTRUE_URL", server.uri())
        .env("GOTRUE_ADMIN_TOKEN", SECRET_KEY);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A netlify emulator holding a confirmed user with roles and metadata (in mixed case), an
/// admin-group user, and a pending invitation; and its export as a manifest file.
async fn netlify_export(dir: &tempfile::TempDir) -> (Emulator, std::path::PathBuf, String) {
    let netlify = seeded([
        seed(
            "Alice@Example.com",
            json!({"roles": ["editor"], "plan": "pro"}),
            json!({"full_name": "Alice Example"}),
        ),
        SeedUser {
            role: "admin".into(),
            ..seed("carol@example.com", json!({}), json!({}))
        },
        SeedUser {
            invited: true,
            confirmed: false,
            ..seed("bob@example.com", json!({"roles": ["viewer"]}), json!({}))
        },
    ])
    .await;
    let exported = binary(&netlify)
        .args(["export", "--name", "site"])
        .output()
        .expect("export");
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let yaml = text(&exported.stdout);
    assert!(
        !yaml.contains("provider"),
        "server-owned keys stay behind:\n{yaml}"
    );
    let file = crate::support::write(dir, "users.yaml", &yaml);
    (netlify, file, yaml)
}

#[tokio::test(flavor = "multi_thread")]
async fn export_from_a_netlify_emulator_applies_to_a_supabase_emulator_and_plans_empty() {
    let dir = tempfile::tempdir().expect("dir");
    let (netlify, file, _) = netlify_export(&dir).await;
    let supabase = start_supabase(EmulatorConfig::default()).await;
    let applied = supabase_binary(&supabase)
        .args(["apply", "--auto-approve", "-f"])
        .arg(&file)
        .output()
        .expect("apply");
    let applied_text = format!("{}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(applied.status.code(), Some(0), "{applied_text}");
    assert!(
        !applied_text.contains(&supabase.admin_key()),
        "{applied_text}"
    );

    let planned = supabase_binary(&supabase)
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(&file)
        .output()
        .expect("plan");
    assert_eq!(
        planned.status.code(),
        Some(0),
        "the plan against the new instance is empty:\n{}{}",
        text(&planned.stdout),
        text(&planned.stderr)
    );

    let listed: Value = reqwest::Client::new()
        .get(format!("{}/admin/users", supabase.api_url()))
        .bearer_auth(supabase.admin_key())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let users = listed["users"].as_array().cloned().unwrap_or_default();
    let by_email = |email: &str| -> Map<String, Value> {
        users
            .iter()
            .find(|u| u["email"] == email)
            .and_then(|u| u.as_object().cloned())
            .unwrap_or_else(|| panic!("{email} migrated: {users:?}"))
    };
    assert_eq!(users.len(), 3);
    let alice = by_email("alice@example.com");
    assert_eq!(alice["app_metadata"]["roles"], json!(["editor"]));
    assert_eq!(alice["app_metadata"]["plan"], "pro");
    assert_eq!(
        alice["app_metadata"]["providers"],
        json!(["email"]),
        "never removed"
    );
    assert_eq!(alice["user_metadata"]["full_name"], "Alice Example");
    // Passwords cannot move: everyone is invited to set one on the new instance.
    assert!(alice["invited_at"].is_string(), "{alice:?}");
    assert_eq!(by_email("carol@example.com")["role"], "admin");
    let bob = by_email("bob@example.com");
    assert_eq!(bob["app_metadata"]["roles"], json!(["viewer"]));
    assert!(bob.get("email_confirmed_at").is_none());
    netlify.shutdown().await;
    supabase.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_writes_no_server_owned_key_and_sends_a_secret_key_as_apikey() {
    let dir = tempfile::tempdir().expect("dir");
    let (netlify, file, _) = netlify_export(&dir).await;
    let server = MockServer::start().await;
    let fake = FakeSupabase::default();
    Mock::given(wiremock::matchers::any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let applied = supabase(&server)
        .args(["apply", "--auto-approve", "-f"])
        .arg(&file)
        .output()
        .expect("apply");
    let applied_text = format!("{}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(applied.status.code(), Some(0), "{applied_text}");
    assert!(!applied_text.contains("NEVER-PRINTED"), "{applied_text}");
    assert_eq!(fake.users.lock().expect("users").len(), 3);
    let writes: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect();
    assert!(!writes.is_empty());
    for request in writes {
        let body = text(&request.body);
        assert!(!body.contains("provider"), "{} {body}", request.url.path());
        assert!(
            !body.contains("email_verified"),
            "{} {body}",
            request.url.path()
        );
    }
    netlify.shutdown().await;
}
