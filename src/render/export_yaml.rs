//! An exported manifest as YAML: stable order, pending invitations marked with a comment.

use serde::Serialize;
use serde_saphyr::Commented;

use crate::export::Export;
use crate::manifest::{Policy, UserSpec};
use crate::metadata::Metadata;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    name: &'a str,
    policy: &'a Policy,
    users: Vec<User<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Email<'a> {
    Plain(&'a str),
    Annotated(Commented<&'a str>),
}

#[derive(Serialize)]
struct User<'a> {
    email: Email<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<&'a Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_metadata: Option<&'a Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    adopt: bool,
}

/// Renders an export as a manifest file.
pub fn export_yaml(export: &Export) -> Result<String, String> {
    let manifest = &export.manifest;
    let users = manifest
        .users
        .iter()
        .map(|spec: &UserSpec| User {
            email: match export.pending.get(&spec.email) {
                Some(since) => Email::Annotated(Commented(
                    &spec.email,
                    format!("invited (pending since {since})"),
                )),
                None => Email::Plain(&spec.email),
            },
            roles: spec.roles.as_ref(),
            user_metadata: spec.user_metadata.as_ref(),
            app_metadata: spec.app_metadata.as_ref(),
            confirmed: spec.confirmed,
            role: spec.role.as_deref(),
            adopt: spec.adopt,
        })
        .collect();
    let document = Document {
        version: manifest.version,
        name: &manifest.name,
        policy: &manifest.policy,
        users,
    };
    let body = serde_saphyr::to_string(&document).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Exported by `gotrue-sync export`. No passwords are exported: users missing from the server\n# would be invited. Review, commit, then `gotrue-sync plan` shows only the adoptions.\n{body}"
    ))
}
