//! Saved plans: `diff --out FILE` writes the plan with a fingerprint of
//! everything it was made from; `up --plan FILE` applies exactly that plan,
//! and refuses, before any change, when anything it was made from moved.
//!
//! The fingerprint has four parts, so the refusal can say what moved: the
//! stack file's bytes, the `--var` overrides, each package's CodeSha256,
//! and each live resource (its model as read, and for a bucket to delete
//! what it holds).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Session;
use crate::desired::PackageRef;
use crate::output::PlanView;
use crate::plan::{LiveState, Plan};

const FORMAT: &str = "stackctl-plan/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub stack: String,
    /// The target's name in stack.yaml.
    pub target: String,
    pub created: String,
    pub inputs: Inputs,
    /// The plan as `diff --json` shows it, for review.
    pub plan: serde_json::Value,
}

/// What a plan was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// SHA-256 of the stack file's bytes.
    pub spec_sha256: String,
    /// The `--var` overrides.
    pub variables: BTreeMap<String, String>,
    /// Function id → CodeSha256 of its package.
    pub packages: BTreeMap<String, String>,
    /// `kind name` → SHA-256 of the resource as read (and of a deleted
    /// bucket's contents).
    pub live: BTreeMap<String, String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprint of this run's inputs.
pub fn inputs(
    session: &Session,
    packages: &BTreeMap<String, PackageRef>,
    live: &LiveState,
    plan: &Plan,
) -> anyhow::Result<Inputs> {
    let spec = std::fs::read(&session.file)
        .with_context(|| format!("reading {}", session.file.display()))?;
    let mut fingerprints = BTreeMap::new();
    for (id, r) in live {
        let json = serde_json::to_vec(r).unwrap_or_default();
        fingerprints.insert(id.to_string(), sha256_hex(&json));
    }
    for step in &plan.steps {
        if let Some(h) = &step.holds {
            let json = serde_json::to_vec(h).unwrap_or_default();
            fingerprints.insert(format!("{} contents", step.id), sha256_hex(&json));
        }
    }
    Ok(Inputs {
        spec_sha256: sha256_hex(&spec),
        variables: session.vars.iter().cloned().collect(),
        packages: packages
            .iter()
            .map(|(k, p)| (k.clone(), p.code_sha256.clone()))
            .collect(),
        live: fingerprints,
    })
}

/// Writes the plan file.
pub fn write(
    path: &Path,
    session: &Session,
    inputs: Inputs,
    view: &PlanView<'_>,
) -> anyhow::Result<()> {
    let saved = SavedPlan {
        format: FORMAT.to_owned(),
        stack: session.stack.name.clone(),
        target: session.target_name.clone(),
        created: crate::lock::utc(crate::lock::now_ms()),
        inputs,
        plan: serde_json::to_value(view)?,
    };
    let text = serde_json::to_string_pretty(&saved)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("writing the plan to {}", path.display()))
}

/// Reads a plan file, refusing a malformed, foreign or other stack's one.
pub fn read(path: &Path, session: &Session) -> anyhow::Result<SavedPlan> {
    let text =
        std::fs::read(path).with_context(|| format!("reading the plan {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a stackctl plan: not JSON ({e}); write one with `stackctl diff --out {}`",
            path.display(),
            path.display()
        )
    })?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        other => bail!(
            "{}: not a stackctl plan: `format` is {}, expected `{FORMAT}`; write one with \
             `stackctl diff --out {}`",
            path.display(),
            other.map_or_else(|| "missing".to_owned(), |f| format!("`{f}`")),
            path.display()
        ),
    }
    let saved: SavedPlan = serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("{}: a malformed stackctl plan: {e}", path.display()))?;
    if saved.stack != session.stack.name || saved.target != session.target_name {
        bail!(
            "{} is a plan for stack `{}` on target `{}`; this run is stack `{}` on target `{}`; \
             nothing was changed",
            path.display(),
            saved.stack,
            saved.target,
            session.stack.name,
            session.target_name
        );
    }
    Ok(saved)
}

/// What moved between the plan's inputs and this run's; empty when none.
pub fn moved(saved: &Inputs, now: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    if saved.spec_sha256 != now.spec_sha256 {
        out.push("the stack file changed".to_owned());
    }
    if saved.variables != now.variables {
        out.push(format!(
            "the --var overrides changed ({} → {})",
            show(&saved.variables),
            show(&now.variables)
        ));
    }
    for (what, a, b) in [
        ("package", &saved.packages, &now.packages),
        ("live", &saved.live, &now.live),
    ] {
        for (k, v) in a {
            match b.get(k) {
                None => out.push(format!("{what} {k} is gone")),
                Some(w) if w != v => out.push(if what == "package" {
                    format!("package {k} changed (CodeSha256 {v} → {w})")
                } else {
                    format!("live {k} changed")
                }),
                Some(_) => {}
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            out.push(format!("{what} {k} appeared"));
        }
    }
    out
}

fn show(vars: &BTreeMap<String, String>) -> String {
    if vars.is_empty() {
        return "none".to_owned();
    }
    vars.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_names_each_input_that_changed() {
        let base = Inputs {
            spec_sha256: "a".into(),
            variables: BTreeMap::new(),
            packages: [("processor".to_owned(), "X".to_owned())].into(),
            live: [("bucket b".to_owned(), "1".to_owned())].into(),
        };
        assert!(moved(&base, &base).is_empty());
        let now = Inputs {
            spec_sha256: "b".into(),
            variables: [("memory".to_owned(), "1024".to_owned())].into(),
            packages: [("processor".to_owned(), "Y".to_owned())].into(),
            live: [("role r".to_owned(), "2".to_owned())].into(),
        };
        assert_eq!(
            moved(&base, &now),
            [
                "the stack file changed",
                "the --var overrides changed (none → memory=1024)",
                "package processor changed (CodeSha256 X → Y)",
                "live bucket b is gone",
                "live role r appeared",
            ]
        );
    }
}
