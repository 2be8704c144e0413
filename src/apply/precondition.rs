//! What must still hold on the server when a change starts, checked against a listing read
//! right before applying (for saved and fresh plans alike): an invite or create needs its
//! address free, a rename its user unchanged and its new address free, an update, delete or
//! re-invite its user unchanged. A change whose precondition fails is not sent.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::gotrue::{Flavor, RemoteUser};
use crate::identity::{email_key, Collation};
use crate::plan::{user_fingerprint, Change, Plan};

/// How the server a plan was made against compares addresses: its recorded flavour's
/// collation (an unknown name is taken as netlify/gotrue, the stricter fold).
fn collation_of(flavor: &str) -> Collation {
    Flavor::from_name(flavor)
        .unwrap_or(Flavor::Netlify)
        .collation()
}

/// The current server users, indexed for the checks.
pub struct Current<'a> {
    by_id: HashMap<&'a str, &'a RemoteUser>,
    by_fold: HashMap<Cow<'a, str>, &'a RemoteUser>,
    collation: Collation,
}

impl<'a> Current<'a> {
    /// Indexes `users` for a plan made against a server of `plan`'s flavour.
    pub fn new(plan: &Plan, users: &'a [RemoteUser]) -> Self {
        let collation = collation_of(&plan.target.flavor);
        Current {
            by_id: users.iter().map(|u| (u.id.as_str(), u)).collect(),
            by_fold: users
                .iter()
                .map(|u| (collation.fold(&u.email), u))
                .collect(),
            collation,
        }
    }

    /// Why `change` may not start now, or `None` when it may.
    pub fn violation(&self, change: &Change) -> Option<String> {
        match change {
            Change::Invite(user) | Change::Create(user) => self.taken(&user.email, None),
            Change::Update(update) => self
                .unchanged(&update.id, &update.email, &update.expected)
                .or_else(|| {
                    let rename = update.rename.as_ref()?;
                    self.taken(&rename.to, Some(&update.id))
                }),
            Change::Delete(removal) => {
                self.unchanged(&removal.id, &removal.email, &removal.expected)
            }
            Change::Reinvite(reinvite) => {
                self.unchanged(&reinvite.id, &reinvite.email, &reinvite.expected)
            }
        }
    }

    /// Whether `email` is held by an account other than `except`, as the server would see it.
    fn taken(&self, email: &str, except: Option<&str>) -> Option<String> {
        let holder = self.by_fold.get(&self.collation.fold(email))?;
        if Some(holder.id.as_str()) == except {
            return None;
        }
        let how = if email_key(&holder.email) == email_key(email) {
            String::new()
        } else {
            " (the server's database takes them for the same address)".to_owned()
        };
        Some(format!(
            "not sent: the address is now taken by account {:?} (id {}){how}, which appeared after the plan was made (a signup?); check whose it is, then plan again",
            holder.email, holder.id
        ))
    }

    /// Whether the user `id` still exists exactly as planned.
    fn unchanged(&self, id: &str, email: &str, expected: &str) -> Option<String> {
        match self.by_id.get(id) {
            None => Some(format!(
                "not sent: {email} (id {id}) no longer exists on the server; plan again"
            )),
            Some(user) if user_fingerprint(user) != expected => Some(format!(
                "not sent: {email} (id {id}) changed on the server since the plan was made; plan again"
            )),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Rename, Target, UserUpdate};

    fn user(id: &str, email: &str) -> RemoteUser {
        serde_json::from_value(json!({"id": id, "email": email})).expect("user")
    }

    fn netlify_plan() -> Plan {
        let mut plan = crate::plan::plan(
            &crate::manifest::Manifest {
                version: 1,
                name: "site".into(),
                policy: crate::manifest::Policy::default(),
                users: Vec::new(),
            },
            &[],
        );
        plan.target = Target::new("http://127.0.0.1:1", None, "netlify");
        plan
    }

    fn rename(user: &RemoteUser, to: &str) -> Change {
        Change::Update(UserUpdate {
            id: user.id.clone(),
            email: user.email.clone(),
            adopt: None,
            roles: None,
            app_metadata: Vec::new(),
            user_metadata: Vec::new(),
            confirm: false,
            role: None,
            rename: Some(Rename {
                from: user.email.clone(),
                to: to.into(),
            }),
            expected: user_fingerprint(user),
        })
    }

    #[test]
    fn a_rename_needs_its_user_unchanged_and_its_target_free_as_the_server_compares() {
        let plan = netlify_plan();
        let old = user("1", "old@example.com");
        let change = rename(&old, "josé@example.com");

        let listing = [old.clone()];
        assert_eq!(Current::new(&plan, &listing).violation(&change), None);

        let listing = [old.clone(), user("2", "JOSE@example.com")];
        let why = Current::new(&plan, &listing)
            .violation(&change)
            .expect("taken");
        assert!(
            why.contains("id 2") && why.contains("same address"),
            "{why}"
        );

        let mut edited = old.clone();
        edited.role = "editor".into();
        let listing = [edited];
        let why = Current::new(&plan, &listing)
            .violation(&change)
            .expect("changed");
        assert!(why.contains("changed on the server"), "{why}");

        let why = Current::new(&plan, &[]).violation(&change).expect("gone");
        assert!(why.contains("no longer exists"), "{why}");
    }

    #[test]
    fn renaming_a_user_onto_its_own_address_in_another_case_is_not_a_conflict() {
        let plan = netlify_plan();
        let old = user("1", "ann@example.com");
        let listing = [old.clone()];
        let change = rename(&old, "Ann@example.com");
        assert_eq!(Current::new(&plan, &listing).violation(&change), None);
    }
}
