//! An in-memory admin API with GoTrue's write semantics, for unit and property tests of
//! plan and apply without HTTP.

use std::sync::Mutex;

use serde_json::{Map, Value};

use super::api::AdminApi;
use crate::gotrue::{
    CreateUserRequest, GotrueError, InviteRequest, RemoteUser, RequestLabel, UpdateUserRequest,
};
use crate::identity::email_key;

/// A fake server holding users in memory.
#[derive(Debug, Default)]
pub struct FakeServer {
    pub users: Mutex<Vec<RemoteUser>>,
    pub next_id: Mutex<u64>,
    /// E-mails whose writes fail with a 500, to test partial failure.
    pub failing: Vec<String>,
    /// Every request as `METHOD path`.
    pub log: Mutex<Vec<String>>,
}

impl FakeServer {
    pub fn with_users(users: Vec<RemoteUser>) -> Self {
        FakeServer {
            next_id: Mutex::new(users.len() as u64 + 1000),
            users: Mutex::new(users),
            ..Default::default()
        }
    }

    pub fn snapshot(&self) -> Vec<RemoteUser> {
        self.users.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn record(&self, entry: String) {
        if let Ok(mut log) = self.log.lock() {
            log.push(entry);
        }
    }

    fn check_failing(
        &self,
        method: &'static str,
        path: &str,
        email: &str,
    ) -> Result<(), GotrueError> {
        if self
            .failing
            .iter()
            .any(|f| email_key(f) == email_key(email))
        {
            return Err(GotrueError::Api {
                request: RequestLabel::new(method, path, Some(email)),
                status: 500,
                message: "Error updating user".into(),
            });
        }
        Ok(())
    }

    fn insert(
        &self,
        email: &str,
        user_metadata: Option<&Map<String, Value>>,
        confirmed: bool,
        invited: bool,
        role: Option<&str>,
    ) -> Result<RemoteUser, GotrueError> {
        let mut users = self
            .users
            .lock()
            .map_err(|_| GotrueError::Config("poisoned".into()))?;
        if users
            .iter()
            .any(|u| email_key(&u.email) == email_key(email))
        {
            return Err(GotrueError::Api {
                request: RequestLabel::new("POST", "/admin/users", Some(email)),
                status: 422,
                message: "Email address already registered by another user".into(),
            });
        }
        let mut next = self
            .next_id
            .lock()
            .map_err(|_| GotrueError::Config("poisoned".into()))?;
        *next += 1;
        let mut app_metadata = Map::new();
        app_metadata.insert("provider".into(), Value::String("email".into()));
        let user = RemoteUser {
            id: format!("00000000-0000-4000-8000-{:012}", *next),
            role: role.unwrap_or_default().to_owned(),
            email: email.to_owned(),
            confirmed_at: confirmed.then(|| "2026-01-01T00:00:00Z".to_owned()),
            invited_at: invited.then(|| "2026-01-01T00:00:00Z".to_owned()),
            app_metadata: app_metadata.into(),
            user_metadata: user_metadata.cloned().unwrap_or_default().into(),
        };
        users.push(user.clone());
        Ok(user)
    }
}

/// GoTrue's shallow merge: non-null values replace, `null` deletes.
pub fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

impl AdminApi for FakeServer {
    async fn list_users(&self) -> Result<Vec<RemoteUser>, GotrueError> {
        self.record("GET /admin/users".into());
        Ok(self.snapshot())
    }

    async fn create_user(&self, request: &CreateUserRequest) -> Result<RemoteUser, GotrueError> {
        self.record("POST /admin/users".into());
        self.check_failing("POST", "/admin/users", &request.email)?;
        self.insert(
            &request.email,
            request.user_metadata.as_ref(),
            request.confirm,
            false,
            request.role.as_deref(),
        )
    }

    async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError> {
        self.record("POST /invite".into());
        self.check_failing("POST", "/invite", &request.email)?;
        self.insert(&request.email, request.data.as_ref(), false, true, None)
    }

    async fn update_user(
        &self,
        id: &str,
        email: &str,
        request: &UpdateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        let path = format!("/admin/users/{id}");
        self.record(format!("PUT {path}"));
        self.check_failing("PUT", &path, email)?;
        let mut users = self
            .users
            .lock()
            .map_err(|_| GotrueError::Config("poisoned".into()))?;
        let Some(user) = users.iter_mut().find(|u| u.id == id) else {
            return Err(GotrueError::Api {
                request: RequestLabel::new("PUT", path, Some(email)),
                status: 404,
                message: "User not found".into(),
            });
        };
        if let Some(role) = request
            .role
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            user.role = role.to_owned();
        }
        if request.confirm == Some(true) {
            user.confirmed_at = Some("2026-01-02T00:00:00Z".into());
        }
        if let Some(new_email) = request.email.as_deref().filter(|e| !e.is_empty()) {
            user.email = new_email.to_owned();
        }
        if let Some(patch) = &request.app_metadata {
            let mut app_metadata = user.app_metadata.to_map();
            merge(&mut app_metadata, patch);
            user.app_metadata = app_metadata.into();
        }
        if let Some(patch) = &request.user_metadata {
            let mut user_metadata = user.user_metadata.to_map();
            merge(&mut user_metadata, patch);
            user.user_metadata = user_metadata.into();
        }
        Ok(user.clone())
    }

    async fn delete_user(&self, id: &str, email: &str) -> Result<(), GotrueError> {
        let path = format!("/admin/users/{id}");
        self.record(format!("DELETE {path}"));
        self.check_failing("DELETE", &path, email)?;
        let mut users = self
            .users
            .lock()
            .map_err(|_| GotrueError::Config("poisoned".into()))?;
        users.retain(|u| u.id != id);
        Ok(())
    }
}
