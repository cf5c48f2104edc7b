//! The provider contract, kind by kind: create, read back, drift in one field, update, list_owned, delete.

use crate::fixture::*;

/// create → read equals desired; a hand edit of the stored JSON → read shows
/// it and diff names `field`; update restores; delete removes (twice is
/// fine); list_owned finds only what the stack owns.
#[allow(clippy::too_many_arguments)]
async fn contract<R>(
    fx: &Fixture,
    desired: R,
    stored: fn(R) -> R,
    wrap: fn(R) -> Resource,
    absent: fn(Option<R>) -> bool,
    field: &str,
    edit: impl FnOnce(&mut Value),
    foreign: Option<R>,
) where
    LocalCloud: ResourceProvider<R>,
    R: ResourceKind,
{
    let cloud = &*fx.cloud;
    let name = wrap(desired.clone()).name();
    // Start from absent (the prerequisites stay).
    if let Some(live) = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
    {
        ResourceProvider::<R>::delete(cloud, &live)
            .await
            .expect("delete");
    }
    assert!(absent(
        ResourceProvider::<R>::read(cloud, &name)
            .await
            .expect("read")
    ));

    ResourceProvider::<R>::create(cloud, &desired)
        .await
        .expect("create");
    let live = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("created");
    assert_eq!(live, stored(desired.clone()), "read after create");
    assert!(diff_fields(&wrap(live.clone()), &wrap(desired.clone())).is_empty());

    fx.edit_json(wrap(desired.clone()).kind(), &name, edit);
    let drifted = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    let changes = diff_fields(&wrap(drifted.clone()), &wrap(desired.clone()));
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        vec![field],
        "the hand edit is drift in exactly `{field}`"
    );

    ResourceProvider::<R>::update(cloud, &drifted, &desired, &drifted.changes_to(&desired))
        .await
        .expect("update");
    let restored = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(restored, stored(desired.clone()), "read after update");

    if let Some(foreign) = foreign {
        fx.put_model(&wrap(foreign.clone()));
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &BTreeSet::new())
            .await
            .expect("list_owned");
        let names: BTreeSet<String> = owned.iter().map(|r| wrap(r.clone()).name()).collect();
        assert!(names.contains(&name), "{names:?} lists ours");
        assert!(
            !names.contains(&wrap(foreign.clone()).name()),
            "{names:?} skips the foreign one"
        );
        let known: BTreeSet<String> = [name.clone()].into();
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &known)
            .await
            .expect("list_owned");
        assert!(
            owned.iter().all(|r| wrap(r.clone()).name() != name),
            "known names are skipped"
        );
        // Creating over a resource of another stack is a conflict.
        let mut clash = foreign.clone();
        let mut clash_json = serde_json::to_value(&desired).expect("json");
        clash_json["name"] = json!(wrap(foreign.clone()).name());
        if let Ok(c) = serde_json::from_value::<R>(clash_json) {
            clash = c;
        }
        let err = ResourceProvider::<R>::create(cloud, &clash)
            .await
            .expect_err("conflict");
        assert!(err.to_string().contains("without the tag"), "{err}");
    } else {
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &BTreeSet::new())
            .await
            .expect("list_owned");
        assert!(owned.is_empty(), "untagged kinds go with their parent");
    }

    ResourceProvider::<R>::delete(cloud, &restored)
        .await
        .expect("delete");
    assert!(absent(
        ResourceProvider::<R>::read(cloud, &name)
            .await
            .expect("read")
    ));
    ResourceProvider::<R>::delete(cloud, &restored)
        .await
        .expect("delete of an absent resource succeeds");
}

fn none<R>(r: Option<R>) -> bool {
    r.is_none()
}

fn foreign_tags() -> Tags {
    [(OWNER_TAG.to_owned(), "someone-else".to_owned())].into()
}

#[tokio::test]
async fn contract_bucket() {
    let fx = Fixture::new();
    let b = pick(&fx.desired(), |r| match r {
        Resource::Bucket(b) => Some(b),
        _ => None,
    })
    .remove(0);
    let foreign = Bucket {
        name: "someone-elses-bucket".into(),
        tags: foreign_tags(),
        ..b.clone()
    };
    contract(
        &fx,
        b,
        |b| b,
        Resource::Bucket,
        none,
        "versioning",
        |v| v["versioning"] = json!(false),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_role() {
    let fx = Fixture::new();
    let r = pick(&fx.desired(), |r| match r {
        Resource::Role(r) => Some(r),
        _ => None,
    })
    .remove(0);
    let foreign = Role {
        name: "someone-elses-role".into(),
        tags: foreign_tags(),
        ..r.clone()
    };
    contract(
        &fx,
        r,
        |r| r,
        Resource::Role,
        none,
        "policy",
        |v| v["policy"] = json!(r#"{"Statement":[],"Version":"2012-10-17"}"#),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_log_group() {
    let fx = Fixture::new();
    let l = pick(&fx.desired(), |r| match r {
        Resource::LogGroup(l) => Some(l),
        _ => None,
    })
    .remove(0);
    let foreign = LogGroup {
        name: "/aws/lambda/someone-else".into(),
        tags: foreign_tags(),
        ..l.clone()
    };
    contract(
        &fx,
        l,
        |l| l,
        Resource::LogGroup,
        none,
        "retention_days",
        |v| v["retention_days"] = json!(3),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_function() {
    let fx = Fixture::new();
    fx.up().await;
    let f = pick(&fx.desired(), |r| match r {
        Resource::Function(f) => Some(f),
        _ => None,
    })
    .remove(0);
    let foreign = Function {
        name: "someone-elses-function".into(),
        tags: foreign_tags(),
        package: None,
        ..f.clone()
    };
    let strip = |f: Function| Function { package: None, ..f };
    contract(
        &fx,
        f.clone(),
        strip,
        Resource::Function,
        none,
        "memory_mb",
        |v| v["memory_mb"] = json!(1024),
        Some(foreign),
    )
    .await;

    // The package: copied in, `bootstrap` extracted executable.
    ResourceProvider::<Function>::create(&*fx.cloud, &f)
        .await
        .expect("create");
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
    let changes = diff_fields(
        &Resource::Function(live.clone()),
        &Resource::Function(f.clone()),
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, "code_sha256");
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

    // Lambda refuses a role that does not exist, and a create without a package.
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
async fn contract_rule() {
    let fx = Fixture::new();
    fx.up().await;
    let r = pick(&fx.desired(), |r| match r {
        Resource::Rule(r) => Some(r),
        _ => None,
    })
    .remove(0);
    let foreign = Rule {
        name: "someone-elses-rule".into(),
        tags: foreign_tags(),
        ..r.clone()
    };
    contract(
        &fx,
        r.clone(),
        |r| r,
        Resource::Rule,
        none,
        "pattern",
        |v| v["pattern"] = json!(r#"{"source":["aws.s3"]}"#),
        Some(foreign),
    )
    .await;
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
async fn contract_permission() {
    let fx = Fixture::new();
    fx.up().await;
    let p = pick(&fx.desired(), |r| match r {
        Resource::Permission(p) => Some(p),
        _ => None,
    })
    .remove(0);
    contract(
        &fx,
        p.clone(),
        |p| p,
        Resource::Permission,
        none,
        "source_arn",
        |v| v["source_arn"] = json!("arn:aws:s3:::elsewhere"),
        None,
    )
    .await;
    // A permission goes with its function.
    ResourceProvider::<Permission>::create(&*fx.cloud, &p)
        .await
        .expect("create");
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

#[tokio::test]
async fn contract_notification() {
    let fx = Fixture::new();
    fx.up().await;
    let n = pick(&fx.desired(), |r| match r {
        Resource::Notification(n) => Some(n),
        _ => None,
    })
    .into_iter()
    .find(|n| !n.lambda.is_empty())
    .expect("the raw bucket's notification");
    // With its bucket there, a notification is never absent: it is empty.
    let empty = |n: Option<Notification>| n.is_some_and(|n| n.lambda.is_empty() && !n.eventbridge);
    contract(
        &fx,
        n.clone(),
        |n| n,
        Resource::Notification,
        empty,
        "eventbridge",
        |v| v["eventbridge"] = json!(false),
        None,
    )
    .await;
    // S3 validates destinations: without the function's permission the
    // document is refused.
    let p = pick(&fx.desired(), |r| match r {
        Resource::Permission(p) if p.principal == "s3.amazonaws.com" => Some(p),
        _ => None,
    })
    .remove(0);
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
