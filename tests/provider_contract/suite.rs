//! The contract every target's providers keep, written once, generic over
//! the target ([`Target`]) and the kind ([`Case`]).
//!
//! For one resource of the stack, with its parents (the kinds before it in
//! dependency order) in place:
//! 1. absent, it reads as absent;
//! 2. created, it reads back equal to desired in every compared field, and
//!    a read makes no mutating call;
//! 3. **each field** updated through the provider to another value reads
//!    back as that value, and updated back reads as desired;
//! 4. **each field** drifted behind stackctl's back (the raw API on AWS, a
//!    hand edit of the stored file locally) reads back as drift in exactly
//!    that field, and the provider's update repairs it;
//! 5. tagged kinds: `list_owned` finds ours, not another stack's, and skips
//!    the names it is told it knows; creating over another stack's resource
//!    is a conflict that changes nothing. Untagged kinds list nothing;
//! 6. deleted, it reads as absent, and deleting it again succeeds.

use std::collections::BTreeSet;
use std::path::PathBuf;

use stackctl::model::*;
use stackctl::provider::{Cloud, ProviderError, ResourceProvider};

/// One target under test: its cloud, the stack's desired resources, and how
/// to change a resource without stackctl.
#[allow(async_fn_in_trait)] // used generically in this test binary only
pub trait Target {
    type Cloud: Cloud;
    fn cloud(&self) -> &Self::Cloud;
    fn stack(&self) -> &str;
    fn desired(&self) -> &[Resource];
    fn aux(&self) -> &Aux;
    /// Makes the cloud hold `drifted` where it held `live` (one resource;
    /// only the fields where they differ), without the provider.
    async fn drift(&self, live: &Resource, drifted: &Resource);
}

/// What variants need beyond the resource itself.
pub struct Aux {
    pub account: String,
    pub desired: Vec<Resource>,
    /// Another function package: its zip and CodeSha256.
    pub v2_zip: PathBuf,
    pub v2_sha256: String,
}

/// A kind under the contract: which of the stack's resources to use, and a
/// valid other value for each of its fields.
pub trait Case: ResourceKind {
    /// The stack's resource of this kind the contract runs on.
    fn pick(desired: &[Resource]) -> Self {
        desired
            .iter()
            .find_map(Self::from_resource)
            .cloned()
            .expect("the stack has one")
    }
    /// `self` with `field`, and only `field`, set to another value that
    /// every target accepts.
    fn vary(&self, field: Self::Field, aux: &Aux) -> Self;
    /// Whether a read means "not there".
    fn absent(read: &Option<Self>) -> bool {
        read.is_none()
    }
    /// The same resource under another name, owned by `owner` (tagged
    /// kinds; `None` for kinds that go with their parent).
    fn renamed(&self, name: &str, owner: &str) -> Option<Self>;
}

impl Aux {
    /// For `desired` in `account`, with a second package written into `dir`.
    pub fn new(account: &str, desired: &[Resource], dir: &std::path::Path) -> Aux {
        let (bytes, sha) = crate::packages::tiny_zip("#!/bin/sh\necho v2\n");
        let v2_zip = dir.join("v2.zip");
        std::fs::write(&v2_zip, bytes).expect("write v2.zip");
        Aux {
            account: account.to_owned(),
            desired: desired.to_vec(),
            v2_zip,
            v2_sha256: sha,
        }
    }
}

fn fields_of<R: ResourceKind>(r: &R) -> Vec<R::Field> {
    r.fields().into_iter().map(|(f, _)| f).collect()
}

async fn read<C: ResourceProvider<R>, R: ResourceKind>(cloud: &C, name: &str) -> Option<R> {
    cloud
        .read(name)
        .await
        .unwrap_or_else(|e| panic!("read {} {name}: {e}", R::KIND))
}

/// Reads `name` and asserts it equals `want` in every compared field.
async fn assert_reads_as<C: ResourceProvider<R>, R: ResourceKind>(
    cloud: &C,
    name: &str,
    want: &R,
    when: &str,
) -> R {
    let live = read::<C, R>(cloud, name)
        .await
        .unwrap_or_else(|| panic!("{} {name} is missing {when}", R::KIND));
    assert_eq!(live.fields(), want.fields(), "{} {name} {when}", R::KIND);
    live
}

async fn update_to<C: ResourceProvider<R>, R: ResourceKind>(cloud: &C, live: &R, want: &R) {
    cloud
        .update(live, want, &live.changes_to(want))
        .await
        .unwrap_or_else(|e| panic!("update {} {}: {e}", R::KIND, want.name()));
}

async fn create_any<C: Cloud>(cloud: &C, r: &Resource) {
    let done = each_kind!(resource r, x => ResourceProvider::create(cloud, x).await);
    done.unwrap_or_else(|e| panic!("create {}: {e}", r.id()));
}

async fn delete_any<C: Cloud>(cloud: &C, r: &Resource) {
    let done = each_kind!(resource r, x => ResourceProvider::delete(cloud, x).await);
    done.unwrap_or_else(|e| panic!("delete {}: {e}", r.id()));
}

/// The whole contract for kind `R` on target `t`.
pub async fn contract<T: Target, R: Case>(t: &T)
where
    T::Cloud: ResourceProvider<R>,
{
    let cloud = t.cloud();
    let aux = t.aux();
    let mut parents: Vec<&Resource> = t.desired().iter().filter(|r| r.kind() < R::KIND).collect();
    parents.sort_by_key(|r| r.kind());
    for p in &parents {
        create_any(cloud, p).await;
    }
    let want = R::pick(t.desired());
    let name = want.name();

    // 1. Absent.
    assert!(
        R::absent(&read::<_, R>(cloud, &name).await),
        "{} {name} before create",
        R::KIND
    );

    // 2. Create, read back; reads never mutate.
    ResourceProvider::<R>::create(cloud, &want)
        .await
        .unwrap_or_else(|e| panic!("create {} {name}: {e}", R::KIND));
    let before = cloud.stats().mutations();
    assert_reads_as(cloud, &name, &want, "after create").await;
    assert_eq!(
        cloud.stats().mutations(),
        before,
        "a read makes no mutating call"
    );

    // 3. Each field, updated through the provider, and back.
    for field in fields_of(&want) {
        let other = want.vary(field, aux);
        assert_eq!(
            want.changes_to(&other),
            Changes::new([field]),
            "the suite's variant of {field:?} changes that field only"
        );
        let live = assert_reads_as(cloud, &name, &want, "before an update").await;
        assert_eq!(live.changes_to(&other), Changes::new([field]));
        update_to(cloud, &live, &other).await;
        let live =
            assert_reads_as(cloud, &name, &other, &format!("after updating {field:?}")).await;
        update_to(cloud, &live, &want).await;
        assert_reads_as(cloud, &name, &want, &format!("after restoring {field:?}")).await;
    }

    // 4. Each field, drifted behind stackctl's back, then repaired.
    for field in fields_of(&want) {
        let drifted = want.vary(field, aux);
        let live = read::<_, R>(cloud, &name).await.expect("present");
        t.drift(
            &live.clone().into_resource(),
            &drifted.clone().into_resource(),
        )
        .await;
        let live = assert_reads_as(cloud, &name, &drifted, &format!("drifted in {field:?}")).await;
        assert_eq!(
            live.changes_to(&want),
            Changes::new([field]),
            "drift in {field:?} is seen as drift in that field only"
        );
        update_to(cloud, &live, &want).await;
        assert_reads_as(cloud, &name, &want, &format!("repaired {field:?}")).await;
    }

    // 5. Ownership.
    let foreign_name = format!("{name}-foreign");
    match want.renamed(&foreign_name, "someone-else") {
        Some(foreign) => {
            // Another stack's resource, as its own stackctl would create it.
            ResourceProvider::<R>::create(cloud, &foreign)
                .await
                .unwrap_or_else(|e| panic!("create the foreign {foreign_name}: {e}"));
            let owned: BTreeSet<String> =
                ResourceProvider::<R>::list_owned(cloud, t.stack(), &BTreeSet::new())
                    .await
                    .expect("list_owned")
                    .iter()
                    .map(ResourceKind::name)
                    .collect();
            assert!(owned.contains(&name), "{owned:?} lists ours");
            assert!(
                !owned.contains(&foreign_name),
                "{owned:?} skips another stack's"
            );
            let known: BTreeSet<String> = [name.clone()].into();
            let owned = ResourceProvider::<R>::list_owned(cloud, t.stack(), &known)
                .await
                .expect("list_owned");
            assert!(
                owned.iter().all(|r| r.name() != name),
                "known names are skipped: {owned:?}"
            );

            let clash = want
                .renamed(&foreign_name, t.stack())
                .expect("tagged kinds rename");
            let err = ResourceProvider::<R>::create(cloud, &clash)
                .await
                .expect_err("creating over another stack's resource");
            assert!(matches!(err, ProviderError::Conflict { .. }), "{err:?}");
            assert!(err.to_string().contains(OWNER_TAG), "{err}");
            assert_reads_as(cloud, &foreign_name, &foreign, "after a refused create").await;
            ResourceProvider::<R>::delete(cloud, &foreign)
                .await
                .expect("delete the foreign one");
        }
        None => {
            let owned = ResourceProvider::<R>::list_owned(cloud, t.stack(), &BTreeSet::new())
                .await
                .expect("list_owned");
            assert!(
                owned.is_empty(),
                "untagged kinds go with their parent: {owned:?}"
            );
        }
    }

    // 6. Delete, twice.
    ResourceProvider::<R>::delete(cloud, &want)
        .await
        .unwrap_or_else(|e| panic!("delete {} {name}: {e}", R::KIND));
    assert!(
        R::absent(&read::<_, R>(cloud, &name).await),
        "{} {name} after delete",
        R::KIND
    );
    ResourceProvider::<R>::delete(cloud, &want)
        .await
        .unwrap_or_else(|e| panic!("delete of an absent {} {name}: {e}", R::KIND));

    for p in parents.iter().rev() {
        delete_any(cloud, p).await;
    }
}
