//! The whole stack through the planner and engine: up, a no-op up, drift, down.

use super::fixture::*;

#[tokio::test]
async fn whole_stack_up_diff_drift_and_down() {
    let fx = Fixture::new();
    let first = fx.up().await;
    assert!(
        first
            .steps
            .iter()
            .all(|s| matches!(s.action, Action::Create(_)))
    );
    assert_eq!(first.steps.len(), fx.desired().len());

    // Idempotent: nothing to do, and a second up makes no mutating call.
    let before = fx.cloud.stats();
    let second = fx.up().await;
    assert!(!second.has_changes(), "{:?}", changed_fields(&second));
    let after = fx.cloud.stats();
    assert_eq!(
        after.mutations(),
        before.mutations(),
        "a no-op up mutates nothing"
    );
    assert!(after.reads() > before.reads());
    assert!(
        after
            .read
            .keys()
            .all(|op| stackctl::provider::ApiStats::is_read(op))
    );

    // Hand edits of stored settings are drift, field by field.
    let group = fx.spec.log_group_name("processor");
    fx.edit_json(Kind::LogGroup, &group, |v| v["retention_days"] = json!(1));
    let function = fx.spec.function_name("promotion");
    fx.edit_json(Kind::Function, &function, |v| v["memory_mb"] = json!(2048));
    let plan = fx.plan().await;
    assert_eq!(
        changed_fields(&plan),
        vec![
            (format!("log_group {group}"), "retention_days".to_owned()),
            (format!("function {function}"), "memory_mb".to_owned()),
        ]
    );
    let Action::Update { changes, .. } = &plan.changes().next().expect("a change").action else {
        panic!("an update")
    };
    assert_eq!(
        (changes[0].old.as_str(), changes[0].new.as_str()),
        ("1", "14")
    );
    fx.up().await;
    assert!(!fx.plan().await.has_changes());

    // A stored file that is not JSON is a clear error naming it.
    let role = fx.spec.role_name("generator");
    let path = fx.store().resource_path(Kind::Role.as_str(), &role);
    let good = std::fs::read_to_string(&path).expect("role file");
    std::fs::write(&path, "{ not json").expect("write");
    let err = ResourceProvider::<Role>::read(&*fx.cloud, &role)
        .await
        .expect_err("corrupt");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    std::fs::write(&path, good).expect("write");

    // A foreign bucket survives down; objects of ours go with our bucket.
    let foreign = Bucket {
        name: "not-ours".into(),
        versioning: true,
        public_access_block: true,
        encryption: None,
        policy: None,
        tags: Tags::new(),
    };
    fx.put_model(&Resource::Bucket(foreign.clone()));
    let raw = fx.bucket("raw");
    let store = fx.store();
    store.put_object(&raw, "a.csv", b"1", None).expect("put");
    store.put_object(&raw, "a.csv", b"2", None).expect("put");
    store.delete_object(&raw, "a.csv").expect("delete marker");
    assert_eq!(
        store
            .list_object_versions(&raw, "")
            .expect("versions")
            .len(),
        3
    );

    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    let down = plan_down(&fx.spec.name, Some("us-east-1"), &live);
    // Without the run's --delete-data, the bucket holding versions stays
    // (its delete fails; the engine stops at that wave), data intact.
    let refused = apply(fx.cloud.clone(), &down, Arc::new(NoProgress)).await;
    let failed: Vec<_> = refused.failed().map(|r| r.id.to_string()).collect();
    assert_eq!(failed, [format!("bucket {raw}")], "{refused:?}");
    assert_eq!(
        store
            .list_object_versions(&raw, "")
            .expect("versions")
            .len(),
        3
    );
    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    let mut down = plan_down(&fx.spec.name, Some("us-east-1"), &live);
    down.delete_data = true;
    let report = apply(fx.cloud.clone(), &down, Arc::new(NoProgress)).await;
    assert!(report.failed().next().is_none(), "{report:?}");
    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    assert!(
        live.is_empty(),
        "nothing of the stack is left: {:?}",
        live.keys()
    );
    assert!(
        store.bucket_exists("not-ours"),
        "the foreign bucket is untouched"
    );
    for kind in Kind::ALL {
        let dir = store.resource_dir(kind.as_str());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        if kind == Kind::Bucket {
            assert_eq!(left, vec![std::ffi::OsString::from("not-ours.json")]);
        } else {
            assert!(left.is_empty(), "{kind}: {left:?}");
        }
    }
    assert!(
        !store.bucket_dir(&raw).exists(),
        "the bucket's versions are gone"
    );
    for id in fx.spec.functions.keys() {
        assert!(!store.package_dir(&fx.spec.function_name(id)).exists());
    }
    // And up refuses to touch a same-named foreign resource.
    fx.put_model(&Resource::Bucket(Bucket {
        name: raw.clone(),
        ..foreign
    }));
    let plan = fx.plan().await;
    let conflicts: Vec<ResourceId> = plan.conflicts.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        conflicts,
        vec![
            ResourceId::new(Kind::Bucket, &raw),
            // Its notification goes with the bucket.
            ResourceId::new(Kind::Notification, &raw),
        ]
    );
    assert!(fx.dir.path().join(".stackctl/.gitignore").is_file());
}
