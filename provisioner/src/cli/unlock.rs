//! `stackctl unlock`: break the run lock a run that is gone left behind.
//! It asks first; the break is conditional on the record read, so a lock
//! that changed hands meanwhile is left alone.

use std::fmt;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::lock::{self, LockStore};
use crate::output::Printer;
use crate::provider::Cloud;
use crate::spec::Target;

#[derive(Debug, Serialize)]
pub struct UnlockReport {
    pub location: String,
    /// The holder whose lock was broken; `None` when there was no lock.
    pub broken: Option<String>,
}

impl fmt::Display for UnlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.broken {
            Some(holder) => writeln!(f, "Broke the lock of {holder} ({}).", self.location),
            None => writeln!(f, "No lock is held ({}).", self.location),
        }
    }
}

pub async fn run(session: &Session, printer: &Printer, yes: bool) -> anyhow::Result<ExitCode> {
    match session.target {
        Target::Aws { .. } => run_on(session, printer, yes, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, yes, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    yes: bool,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let store = cloud.lock_store(&session.stack.name).await?;
    let location = store.location();
    let Some(record) = lock::read_any(&store).await? else {
        printer.result(&UnlockReport {
            location,
            broken: None,
        });
        return Ok(ExitCode::SUCCESS);
    };
    let live = record.is_live(lock::now_ms());
    let state = if live {
        format!("live until {}", lock::utc(record.expires_ms))
    } else {
        "stale".to_owned()
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "the lock of stack `{}` is held by {} ({state}) and stdin is not a terminal: \
                 make sure that run is gone, then pass --yes; nothing was changed",
                session.stack.name,
                record.holder()
            );
        }
        let question = format!(
            "Stack `{}` is locked by {} ({state}). Break the lock? Only do this when that run \
             is gone.",
            session.stack.name,
            record.holder()
        );
        if !super::consent::ask(printer, &question)? {
            bail!("cancelled; the lock is still held");
        }
    }
    if !lock::break_lock(&store, &record).await? {
        bail!(
            "the lock changed while asking (another run took or released it); nothing was \
             changed. Run `stackctl unlock` again to see who holds it now"
        );
    }
    printer.result(&UnlockReport {
        location,
        broken: Some(record.holder()),
    });
    Ok(ExitCode::SUCCESS)
}
