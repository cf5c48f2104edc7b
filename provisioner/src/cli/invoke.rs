//! `stackctl invoke <function>`: an invoke through the target's
//! [`Functions`](crate::provider::functions::Functions): on AWS the
//! response and the log tail, locally the whole cascade; non-zero exit when
//! a function failed.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::Session;
use crate::output::Printer;
use crate::provider::Cloud;
use crate::provider::functions::{Invocation, Notes};
use crate::spec::Target;

/// Reads the payload from `--payload` or `--payload-file`, checking it is
/// JSON (Lambda would refuse it later with a vaguer message).
pub fn payload(inline: Option<&str>, file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let (text, origin) = match (inline, file) {
        (Some(t), _) => (t.to_owned(), "--payload".to_owned()),
        (None, Some(path)) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --payload-file {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => ("{}".to_owned(), "default".to_owned()),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
        bail!(
            "{origin}: the payload is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        );
    }
    Ok(text.into_bytes())
}

pub async fn run(
    session: &Session,
    printer: &Printer,
    function: &str,
    inline: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if !session.stack.functions.contains_key(function) {
        let known: Vec<&str> = session.stack.functions.keys().map(String::as_str).collect();
        bail!(
            "no function `{function}` in stack {}; known: {}",
            session.stack.name,
            known.join(", ")
        );
    }
    let payload = payload(inline, file)?;
    let function_name = session.stack.function_name(function);
    let invocation = match session.target {
        Target::Aws { .. } => {
            run_on(
                session,
                printer,
                &function_name,
                payload,
                session.aws().await?,
            )
            .await?
        }
        Target::Local { .. } => {
            run_on(session, printer, &function_name, payload, session.local()?).await?
        }
    };
    printer.result(&invocation);
    Ok(if invocation.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Invokes `function_name` on the target and waits for what it can tell.
pub async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    function_name: &str,
    payload: Vec<u8>,
    cloud: Arc<C>,
) -> anyhow::Result<Invocation> {
    let invocation = cloud
        .invoke(function_name, payload, notes_to(printer))
        .await
        .with_context(|| format!("invoking {function_name}"))?;
    if session.stats {
        printer.stats(&cloud.stats());
    }
    Ok(invocation)
}

/// What goes wrong beside the answer, as notes on stderr.
pub(super) fn notes_to(printer: &Printer) -> Notes {
    let printer = printer.clone();
    Arc::new(move |note| printer.note(format!("stackctl: {note}")))
}
