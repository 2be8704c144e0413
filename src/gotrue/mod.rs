//! The GoTrue HTTP client. Nothing here knows about plans.

mod admin;
mod auth;
mod error;
mod flavor;
mod link;
mod user;
mod user_client;

pub use admin::{normalize_base_url, AdminClient, ClientOptions, RetryPolicy, UserListing};
pub use auth::{mint_admin_token, unix_now, AdminCredentials, MINTED_TOKEN_LIFETIME};
pub use error::{GotrueError, RequestLabel};
pub use flavor::{
    AuthHeaders, DetectError, Flavor, FlavorChoice, MetadataMap, RotationCheck, ServerError,
    TokenEncoding, VerifyEncoding,
};
pub use link::{GenerateLinkRequest, GeneratedLink, LinkKind};
pub use user::{CreateUserRequest, InviteRequest, RemoteUser, UpdateUserRequest};
pub use user_client::{External, FlowUser, Session, Settings, SignupAnswer, UserClient};
