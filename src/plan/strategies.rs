//! proptest strategies for manifests and server users, shared by the plan's properties and
//! apply's convergence property (which drives both, so lives outside `plan`).

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::MARKER_KEY;
use crate::gotrue::RemoteUser;
use crate::manifest::{CreateMode, Manifest, MetadataMode, Policy, PruneMode, SecretRef, UserSpec};
use crate::metadata::Metadata;

/// The file every generated password user's secret is read from, relative to the
/// secrets directory of the apply.
pub(crate) const PASSWORD_FILE: &str = "proptest-password";

fn small_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[abc]",
        prop_oneof![
            Just(json!(1)),
            Just(json!("x")),
            Just(json!([1, 2])),
            Just(json!({"n": true}))
        ],
        0..3,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn roles() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just("admin".to_string()),
            Just("editor".to_string()),
            Just("viewer".to_string())
        ],
        0..3,
    )
}

prop_compose! {
    fn spec(index: usize)(
        upper in any::<bool>(),
        roles in prop::option::of(roles()),
        user_metadata in prop::option::of(small_map()),
        app_metadata in prop::option::of(small_map()),
        role in prop::option::of(prop_oneof![Just("editor".to_string()), Just("deployer".to_string())]),
        password in any::<bool>(),
    ) -> UserSpec {
        let email = format!("user{index}@example.com");
        let mut spec = UserSpec::new(if upper { email.to_uppercase() } else { email });
        spec.roles = roles;
        spec.user_metadata = user_metadata.map(Metadata::from);
        spec.app_metadata = app_metadata.map(Metadata::from);
        spec.role = role;
        if password {
            spec.create = CreateMode::Password;
            spec.password = Some(SecretRef::File { file: PASSWORD_FILE.into() });
            spec.confirmed = Some(true);
        }
        spec
    }
}

prop_compose! {
    fn stored(index: usize)(
        managed in prop_oneof![Just(None), Just(Some("gotrue-sync:site")), Just(Some("gotrue-sync:other"))],
        roles in prop::option::of(roles()),
        app in small_map(),
        user in small_map(),
        confirmed in any::<bool>(),
        role in prop_oneof![Just(String::new()), Just("editor".to_string())],
    ) -> RemoteUser {
        let mut app_metadata = app;
        app_metadata.insert("provider".into(), json!("email"));
        if let Some(owner) = managed {
            app_metadata.insert(MARKER_KEY.into(), json!(owner));
        }
        if let Some(roles) = roles {
            app_metadata.insert("roles".into(), json!(roles));
        }
        RemoteUser {
            id: format!("id-{index}"),
            role,
            email: format!("user{index}@example.com"),
            confirmed_at: confirmed.then(|| "2026-01-01T00:00:00Z".to_string()),
            invited_at: None,
            app_metadata: app_metadata.into(),
            user_metadata: user.into(),
        }
    }
}

pub(crate) fn scenario() -> impl Strategy<Value = (Manifest, Vec<RemoteUser>)> {
    let specs = (0usize..6).prop_flat_map(|n| (0..n).map(spec).collect::<Vec<_>>());
    let users = (0usize..6).prop_flat_map(|n| (0..n).map(|i| stored(i + 3)).collect::<Vec<_>>());
    let policy = (
        prop_oneof![
            Just(PruneMode::None),
            Just(PruneMode::Managed),
            Just(PruneMode::All)
        ],
        prop_oneof![Just(MetadataMode::Merge), Just(MetadataMode::Exact)],
        prop_oneof![Just(MetadataMode::Merge), Just(MetadataMode::Exact)],
        any::<bool>(),
    );
    (specs, users, policy).prop_map(
        |(specs, users, (prune, user_metadata, app_metadata, ignore))| {
            let policy = Policy {
                prune,
                max_deletes: 100,
                user_metadata,
                app_metadata,
                allow_admin_role: false,
                admin_roles: Vec::new(),
                adopt: crate::manifest::AdoptMode::All,
                ignore: if ignore {
                    vec!["app_metadata.a".into(), "user_metadata.b".into()]
                } else {
                    Vec::new()
                },
            };
            let manifest = Manifest {
                version: 1,
                name: "site".into(),
                policy,
                users: specs,
            };
            (manifest, users)
        },
    )
}
