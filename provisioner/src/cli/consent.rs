//! The two questions a destructive run must answer before it changes
//! anything: may it destroy data (`--delete-data`, never implied), and may
//! it delete at all (`--yes`, or an answer on a terminal).

use std::io::{BufRead, IsTerminal};

use anyhow::bail;

use crate::model::thousands;
use crate::output::Printer;
use crate::plan::Plan;

/// Refuses, before any change, a plan that would delete a bucket holding
/// data when the run did not pass `--delete-data`. `keep_hint` says how
/// to keep such a bucket with this verb.
pub fn check_data_deletes(plan: &Plan, delete_data: bool, keep_hint: &str) -> anyhow::Result<()> {
    let blocked: Vec<String> = plan
        .data_deletes()
        .map(|s| {
            let holds = s.holds.map(|h| h.to_string()).unwrap_or_default();
            format!("bucket {}: {holds}", s.id.name)
        })
        .collect();
    if blocked.is_empty() || delete_data {
        return Ok(());
    }
    bail!(
        "{} bucket(s) to delete hold data, and this run did not pass --delete-data; nothing was \
         changed:\n  {}\n{keep_hint} To delete it with every object version in it, pass \
         --delete-data (--yes does not imply it).",
        thousands(blocked.len() as u64),
        blocked.join("\n  ")
    )
}

/// Asks before a plan that deletes anything (the caller has shown it): on
/// a terminal, `[y/N]`; elsewhere it refuses unless `yes`.
pub fn confirm_deletes(
    printer: &Printer,
    plan: &Plan,
    yes: bool,
    verb: &str,
) -> anyhow::Result<()> {
    let deletes = plan.deletes();
    if deletes == 0 || yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "`{verb}` deletes {deletes} resource(s) and stdin is not a terminal: review them with \
             `stackctl diff`, then pass --yes to confirm; nothing was changed"
        );
    }
    let question = format!(
        "Delete these {deletes} resource(s) of stack `{}`?",
        plan.stack
    );
    if !ask(printer, &question)? {
        bail!("cancelled; nothing was changed");
    }
    Ok(())
}

/// Asks `question [y/N]` on the terminal; true for `y` or `yes`.
pub fn ask(printer: &Printer, question: &str) -> anyhow::Result<bool> {
    printer.prompt(&format!("{question} [y/N] "));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
