//! The GoTrue HTTP client. Nothing here knows about manifests or plans.

mod admin;
mod auth;
mod error;
mod flavor;
mod limit;
mod link;
mod transport;
mod user;
mod user_client;

pub use crate::metadata::Metadata;
pub use admin::{AdminClient, ClientOptions, UserListing};
pub use auth::{mint_admin_token, unix_now, AdminCredentials, MINTED_TOKEN_LIFETIME};
pub use error::{GotrueError, RequestLabel};
pub use flavor::{
    AuthHeaders, DetectError, Flavor, FlavorChoice, MetadataMap, RotationCheck, ServerError,
    TokenEncoding, VerifyEncoding,
};
pub use limit::{Control, LimitMode, Signal, Ticket};
pub use link::{GenerateLinkRequest, GeneratedLink, LinkKind};
pub use transport::{decide, Attempt, RetryPolicy, Rule, Step, Transport, TransportOptions, Wait};
pub use user::{CreateUserRequest, InviteRequest, RemoteUser, UpdateUserRequest};
pub use user_client::{External, FlowUser, Session, Settings, SignupAnswer, UserClient};
