//! What the local provider does beyond the contract every target keeps
//! (tests/provider_contract): the package installed on disk, and the
//! checks the local cloud makes where AWS would refuse a call.

use super::fixture::*;

/// The stack's first resource of kind `R`.
fn first<R: ResourceKind>(fx: &Fixture) -> R {
    of_kind::<R>(&fx.desired())
        .next()
        .cloned()
        .expect("the stack has one")
}

#[tokio::test]
async fn a_function_package_is_installed_with_an_executable_bootstrap() {
    let fx = Fixture::new();
    fx.up().await;
    let f: Function = first(&fx);
    let store = fx.store();
    assert!(store.package_zip(&f.name).is_file());
    let bootstrap = store.bootstrap_path(&f.name);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bootstrap)
            .expect("bootstrap")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "bootstrap is executable");
    }
    // A tampered code hash is drift in code_sha256; update copies the
    // package in again.
    fx.edit_json(Kind::Function, &f.name, |v| {
        v["code_sha256"] = json!("tampered")
    });
    std::fs::remove_file(&bootstrap).expect("remove bootstrap");
    let live = ResourceProvider::<Function>::read(&*fx.cloud, &f.name)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        live.changes_to(&f),
        Changes::new([FunctionField::CodeSha256])
    );
    ResourceProvider::<Function>::update(&*fx.cloud, &live, &f, &live.changes_to(&f))
        .await
        .expect("update");
    assert!(bootstrap.is_file(), "the package was installed again");
    assert_eq!(
        ResourceProvider::<Function>::read(&*fx.cloud, &f.name)
            .await
            .expect("read")
            .expect("present")
            .code_sha256,
        f.code_sha256
    );
}

#[tokio::test]
async fn a_function_needs_an_existing_role_and_a_package() {
    let fx = Fixture::new();
    fx.up().await;
    let f: Function = first(&fx);
    let no_role = Function {
        name: "no-role".into(),
        role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/missing"),
        ..f.clone()
    };
    let err = ResourceProvider::<Function>::create(&*fx.cloud, &no_role)
        .await
        .expect_err("no role");
    assert!(
        err.to_string().contains("cannot be assumed by Lambda"),
        "{err}"
    );
    let no_package = Function {
        name: "no-package".into(),
        package: None,
        ..f
    };
    let err = ResourceProvider::<Function>::create(&*fx.cloud, &no_package)
        .await
        .expect_err("no package");
    assert!(err.to_string().contains("no package"), "{err}");
}

#[tokio::test]
async fn an_invalid_event_pattern_is_refused_as_eventbridge_does() {
    let fx = Fixture::new();
    let r: Rule = first(&fx);
    let bad = Rule {
        pattern: r#"{"source":"aws.s3"}"#.into(),
        ..r
    };
    let err = ResourceProvider::<Rule>::create(&*fx.cloud, &bad)
        .await
        .expect_err("invalid pattern");
    assert!(
        err.to_string().contains("InvalidEventPatternException"),
        "{err}"
    );
    assert!(err.to_string().contains("`source`"), "{err}");
}

#[tokio::test]
async fn a_permission_goes_with_its_function() {
    let fx = Fixture::new();
    fx.up().await;
    let p: Permission = first(&fx);
    let f = ResourceProvider::<Function>::read(&*fx.cloud, &p.function)
        .await
        .expect("read")
        .expect("function");
    ResourceProvider::<Function>::delete(&*fx.cloud, &f)
        .await
        .expect("delete function");
    let name = Permission::id_name(&p.function, &p.statement_id);
    assert_eq!(
        ResourceProvider::<Permission>::read(&*fx.cloud, &name)
            .await
            .expect("read"),
        None
    );
    let err = ResourceProvider::<Permission>::create(&*fx.cloud, &p)
        .await
        .expect_err("no function");
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

/// S3 validates destinations (moto does not; the local cloud follows AWS):
/// without the function's permission the document is refused.
#[tokio::test]
async fn a_notification_needs_the_functions_permission() {
    let fx = Fixture::new();
    fx.up().await;
    let desired = fx.desired();
    let n = of_kind::<Notification>(&desired)
        .find(|n| !n.lambda.is_empty())
        .cloned()
        .expect("the raw bucket's notification");
    let p = of_kind::<Permission>(&desired)
        .find(|p| p.principal == "s3.amazonaws.com")
        .cloned()
        .expect("the S3 permission");
    ResourceProvider::<Permission>::delete(&*fx.cloud, &p)
        .await
        .expect("delete permission");
    let err = ResourceProvider::<Notification>::create(&*fx.cloud, &n)
        .await
        .expect_err("unvalidated");
    assert!(
        err.to_string()
            .contains("Unable to validate the following destination configurations"),
        "{err}"
    );
}
