//! `stackctl serve`: the local cloud in the foreground. Uploads through its
//! S3 endpoint trigger the pipeline as on AWS; each invocation is printed as
//! it finishes.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::Session;
use crate::output::Printer;

pub async fn run(session: &Session, printer: &Printer, port: u16) -> anyhow::Result<ExitCode> {
    let cloud = session.local()?;
    let services = cloud
        .serve(port, super::invoke::notes_to(printer))
        .await
        .context("serving the local cloud")?;
    let url = services.s3_url();
    let raw = upload_bucket(&session.stack).map(|id| {
        let ctx = crate::provider::local::LocalCloud::context_now();
        session.stack.bucket_name(id, &ctx.account, &ctx.region)
    });
    printer.line(&format!("S3 endpoint: {url}"));
    printer.line(&format!(
        "Try: AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --region us-east-1 --endpoint-url {url} s3 cp file.csv s3://{}/",
        raw.unwrap_or_else(|| "<bucket>".into())
    ));
    printer.line("Press Ctrl-C to stop.");
    let mut shown = 0;
    loop {
        let records = services.records();
        for r in &records[shown..] {
            printer.line(&format!(
                "{} {} {} {:.1} ms{}",
                r.function,
                r.trigger,
                r.status,
                r.duration_ms,
                r.error
                    .as_deref()
                    .map_or_else(String::new, |e| format!(": {e}"))
            ));
        }
        shown = records.len();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    services.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// The bucket to suggest uploading to: the first one a trigger listens on
/// (an upload there starts the pipeline), else the first bucket.
fn upload_bucket(stack: &crate::spec::Stack) -> Option<&str> {
    stack
        .functions
        .values()
        .flat_map(|f| &f.triggers)
        .map(crate::spec::Trigger::bucket)
        .next()
        .or_else(|| stack.buckets.keys().next().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_upload_goes_to_a_bucket_that_triggers_the_pipeline() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let stack =
            crate::spec::load(&dir.join("stack.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
        // `consumption` sorts first; `raw` is the one with triggers.
        assert_eq!(upload_bucket(&stack), Some("raw"));
    }
}
