//! Loading a manifest from one file, several files or a directory of them: users from all
//! files form one desired state; `policy` may appear in at most one file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, SourceLines, SourceLocation};
use super::model::{Manifest, Policy, SecretRef};
use super::validate::{admin_role_problems, validate_file, Validated};
use super::{LoadedManifest, ManifestError};
use crate::identity::collation_fold;

/// The files `paths` name: files as given, directories as their `*.yaml`/`*.yml` files,
/// sorted by name.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        if found.is_empty() {
            return Err(ManifestError::NoFiles { path: path.clone() });
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// The largest manifest file read: a million users with metadata take about 100 MB, and the
/// bound stops a device such as `/dev/zero` named by mistake.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// Reads one manifest file: a regular file (checked before opening, since opening a FIFO
/// waits for a writer) of at most [`MAX_MANIFEST_BYTES`].
fn read_source(path: &Path) -> Result<String, ManifestError> {
    use std::io::Read;
    let read_error = |source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_file() {
        return Err(ManifestError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let too_large = || ManifestError::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_MANIFEST_BYTES,
    };
    if metadata.len() > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut text = String::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// Reads, validates and merges the manifest files `paths` name.
pub fn load_all(paths: &[PathBuf]) -> Result<LoadedManifest, ManifestError> {
    let files = expand(paths)?;
    let mut diagnostics = Vec::new();
    let mut parts: Vec<(PathBuf, Validated, String)> = Vec::new();
    let mut role_uses = Vec::new();
    let mut policy_files: Vec<(SourceLocation, bool, Vec<String>)> = Vec::new();
    let mut names: Vec<SourceLocation> = Vec::new();
    for file in &files {
        let source = read_source(file)?;
        let checked = validate_file(&source, file);
        role_uses.extend(checked.role_uses);
        if let Some(location) = checked.policy_location {
            policy_files.push((location, checked.allow_admin_role, checked.admin_roles));
        }
        names.extend(checked.name_location);
        match checked.result {
            Ok(validated) => parts.push((file.clone(), validated, source)),
            Err(found) => diagnostics.extend(found),
        }
    }

    if let [(first, ..), rest @ ..] = policy_files.as_slice() {
        for (again, ..) in rest {
            diagnostics.push(
                Diagnostic::new(
                    again.clone(),
                    "`policy` is declared in more than one file",
                    "",
                )
                .with_related("first declared at", first.clone())
                .with_hint("keep `policy` in one file of the manifest"),
            );
        }
    }
    let (allow_admin_role, admin_roles) = match policy_files.first() {
        Some((_, allow, roles)) => (*allow, roles.as_slice()),
        None => (false, [].as_slice()),
    };
    diagnostics.extend(admin_role_problems(
        role_uses,
        allow_admin_role,
        admin_roles,
    ));

    if let Some((_, first, _)) = parts.first() {
        let name = first.manifest.name.clone();
        for (file, part, _) in &parts[1..] {
            if part.manifest.name != name {
                let at = names
                    .iter()
                    .find(|l| &l.file == file)
                    .cloned()
                    .unwrap_or_else(|| SourceLocation::new(file, 0, 0));
                diagnostics.push(
                    Diagnostic::new(
                        at,
                        format!(
                            "`name: {}` differs from `name: {name}` in {}",
                            part.manifest.name,
                            files[0].display()
                        ),
                        "",
                    )
                    .with_hint("all files of one manifest share one owner label"),
                );
            }
        }
    }

    // Each file has checked its own users already: only several files can add duplicates.
    let mut seen: HashMap<String, SourceLocation> = HashMap::new();
    for (_, part, source) in parts.iter().filter(|_| parts.len() > 1) {
        let lines = SourceLines::new(source);
        for (index, user) in part.manifest.users.iter().enumerate() {
            let Some(location) = part.user_location(index) else {
                continue;
            };
            match seen.get(collation_fold(&user.email).as_ref()) {
                Some(first) => diagnostics.push(
                    Diagnostic::at(
                        location,
                        format!(
                            "duplicate user `{}` (e-mails are compared ignoring case, and on netlify/gotrue accents)",
                            user.email
                        ),
                        &lines,
                    )
                    .with_related("first declared at", first.clone())
                    .with_hint("declare each user in one file only"),
                ),
                None => {
                    seen.insert(collation_fold(&user.email).into_owned(), location);
                }
            }
        }
    }

    if !diagnostics.is_empty() {
        for (_, part, _) in &parts {
            diagnostics.extend(part.warnings.iter().cloned());
        }
        let order = |d: &Diagnostic| {
            let file = files.iter().position(|f| *f == d.location.file);
            (file, d.location.line, d.location.column)
        };
        diagnostics.sort_by_key(order);
        return Err(ManifestError::Invalid {
            path: files.first().cloned().unwrap_or_default(),
            diagnostics,
        });
    }

    let policy = parts
        .iter()
        .find(|(file, _, _)| policy_files.first().is_some_and(|(l, ..)| &l.file == file))
        .map(|(_, part, _)| part.manifest.policy.clone())
        .unwrap_or_else(Policy::default);
    let mut users = Vec::new();
    let mut warnings = Vec::new();
    let mut name = String::new();
    for (file, part, _) in parts {
        name = part.manifest.name;
        // Absolute, so the reference means the same from any working directory or saved plan.
        let dir = std::fs::canonicalize(file)
            .ok()
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut part_users = part.manifest.users;
        for user in &mut part_users {
            // Relative secret files are relative to the file that names them.
            if let Some(SecretRef::File { file }) = &mut user.password {
                if Path::new(file.as_str()).is_relative() {
                    *file = dir.join(&*file).display().to_string();
                }
            }
        }
        // The first file's list is kept as it is: at 100k users, growing a new one a user
        // at a time copied tens of megabytes.
        if users.is_empty() {
            users = part_users;
        } else {
            users.append(&mut part_users);
        }
        warnings.extend(part.warnings);
    }
    Ok(LoadedManifest {
        path: files.first().cloned().unwrap_or_default(),
        manifest: Manifest {
            version: super::SUPPORTED_VERSION,
            name,
            policy,
            users,
        },
        files,
        warnings,
    })
}
