//! The small admin API that apply needs, so it can run against the real client or a fake.

use crate::gotrue::{
    AdminClient, CreateUserRequest, GotrueError, InviteRequest, RemoteUser, UpdateUserRequest,
};

/// What apply needs from a GoTrue server.
// Apply drives these futures in one task (no spawning), so they need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait AdminApi {
    /// Every user.
    async fn list_users(&self) -> Result<Vec<RemoteUser>, GotrueError>;
    /// `POST /admin/users`.
    async fn create_user(&self, request: &CreateUserRequest) -> Result<RemoteUser, GotrueError>;
    /// `POST /invite`.
    async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError>;
    /// `PUT /admin/users/{id}`.
    async fn update_user(
        &self,
        id: &str,
        email: &str,
        request: &UpdateUserRequest,
    ) -> Result<RemoteUser, GotrueError>;
    /// `DELETE /admin/users/{id}`.
    async fn delete_user(&self, id: &str, email: &str) -> Result<(), GotrueError>;
}

impl AdminApi for AdminClient {
    async fn list_users(&self) -> Result<Vec<RemoteUser>, GotrueError> {
        let listing = AdminClient::list_users(self).await?;
        for warning in &listing.warnings {
            tracing::warn!("{warning}");
        }
        Ok(listing.users)
    }
    async fn create_user(&self, request: &CreateUserRequest) -> Result<RemoteUser, GotrueError> {
        AdminClient::create_user(self, request).await
    }
    async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError> {
        AdminClient::invite_user(self, request).await
    }
    async fn update_user(
        &self,
        id: &str,
        email: &str,
        request: &UpdateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        AdminClient::update_user(self, id, email, request).await
    }
    async fn delete_user(&self, id: &str, email: &str) -> Result<(), GotrueError> {
        AdminClient::delete_user(self, id, email).await
    }
}
