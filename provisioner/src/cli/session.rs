//! What every verb starts from: the validated stack, the chosen target, and
//! the way to reach it.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::Cli;
use crate::desired::{self, PackageRef};
use crate::model::{self, Resource};
use crate::output::Printer;
use crate::package::{Arch, BuildRequest, Builder, Echo};
use crate::provider::Cloud;
use crate::provider::aws::AwsCloud;
use crate::provider::local::LocalCloud;
use crate::spec::{self, Architecture, Stack, Target};

pub struct Session {
    /// The stack file, and the `--var` overrides it was loaded with.
    pub file: std::path::PathBuf,
    pub vars: Vec<(String, String)>,
    pub stack: Stack,
    pub target_name: String,
    pub target: Target,
    pub region_override: Option<String>,
    pub profile_override: Option<String>,
    pub stats: bool,
}

impl Session {
    pub fn open(cli: &Cli) -> anyhow::Result<Self> {
        let stack = spec::load(&cli.file, &cli.vars).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (name, target) = stack
            .target(cli.target.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (target_name, target) = (name.to_owned(), target.clone());
        Ok(Self {
            file: cli.file.clone(),
            vars: cli.vars.clone(),
            stack,
            target_name,
            target,
            region_override: cli.region.clone(),
            profile_override: cli.profile.clone(),
            stats: cli.stats,
        })
    }

    /// The target's cloud. Each provider is a separate type; verbs are
    /// generic over [`Cloud`] and instantiated once per provider here.
    pub async fn aws(&self) -> anyhow::Result<Arc<AwsCloud>> {
        match &self.target {
            Target::Aws { region, profile } => {
                let region = self
                    .region_override
                    .clone()
                    .or_else(|| Some(region.clone()));
                let profile = self.profile_override.clone().or_else(|| profile.clone());
                Ok(Arc::new(AwsCloud::from_env(region, profile).await))
            }
            Target::Local { .. } => bail!(
                "target `{}` uses the local provider; this command needs an AWS target",
                self.target_name
            ),
        }
    }

    /// The local cloud of a `provider: local` target.
    pub fn local(&self) -> anyhow::Result<Arc<LocalCloud>> {
        match &self.target {
            Target::Local { dir } => {
                Ok(Arc::new(LocalCloud::open(dir).with_context(|| {
                    format!("opening the local cloud in {}", dir.display())
                })?))
            }
            Target::Aws { .. } => bail!("target `{}` is not a local target", self.target_name),
        }
    }

    pub fn describe_target(&self, ctx: &model::Context) -> String {
        format!(
            "target {} (account {}, {})",
            self.target_name, ctx.account, ctx.region
        )
    }

    /// Builds every function's package (one cargo invocation per source
    /// folder), keyed by function id.
    /// With `-v`, one line per package: zip, size, CodeSha256, toolchain.
    /// With `no_build`, the zips the last build left are used as they are
    /// (`--no-build`): cargo builds nothing.
    pub async fn build_packages(
        &self,
        printer: &Printer,
        no_build: bool,
    ) -> anyhow::Result<BTreeMap<String, PackageRef>> {
        let mut by_source: BTreeMap<&std::path::Path, Vec<(&String, BuildRequest)>> =
            BTreeMap::new();
        for (id, f) in &self.stack.functions {
            let arch = match f.architecture {
                Architecture::X86_64 => Arch::X86_64,
                Architecture::Arm64 => Arch::Arm64,
            };
            by_source
                .entry(f.source.as_path())
                .or_default()
                .push((id, BuildRequest::new(&f.source, &f.binary, arch)));
        }
        let mut out = BTreeMap::new();
        for (source, reqs) in by_source {
            let requests: Vec<BuildRequest> = reqs.iter().map(|(_, r)| r.clone()).collect();
            let profile = &self.stack.build_profile;
            if no_build {
                let built = Builder::new()
                    .profile(profile)
                    .existing(&requests)
                    .await
                    .with_context(|| {
                        format!(
                            "finding the packages built from {} (--no-build)",
                            source.display()
                        )
                    })?;
                for ((id, _), package) in reqs.iter().zip(built) {
                    printer.detail(format!(
                        "package {id}: {} ({} bytes, CodeSha256 {}, as built before: --no-build)",
                        package.zip_path.display(),
                        package.size,
                        package.code_sha256,
                    ));
                    out.insert(
                        (*id).clone(),
                        PackageRef {
                            code_sha256: package.code_sha256,
                            zip_path: package.zip_path,
                        },
                    );
                }
                continue;
            }
            let to_printer = printer.clone();
            let packages = Builder::new()
                .profile(profile)
                .echo(Echo::new(move |line| to_printer.note(line)))
                .build(&requests)
                .await
                .with_context(|| {
                    format!(
                        "building the packages in {} with cargo profile `{profile}` \
                         (build.profile in the stack file)",
                        source.display()
                    )
                })?;
            for ((id, req), package) in reqs.iter().zip(packages) {
                debug_assert_eq!(package.function_binary, req.binary);
                printer.detail(format!(
                    "package {id}: {} ({} bytes, CodeSha256 {}, {} toolchain, glibc {})",
                    package.zip_path.display(),
                    package.size,
                    package.code_sha256,
                    package.toolchain,
                    package
                        .glibc_max
                        .map_or_else(|| "none (static)".to_owned(), |(a, b)| format!("≤ {a}.{b}")),
                ));
                out.insert(
                    (*id).clone(),
                    PackageRef {
                        code_sha256: package.code_sha256,
                        zip_path: package.zip_path,
                    },
                );
            }
        }
        Ok(out)
    }

    pub async fn desired<C: Cloud>(
        &self,
        cloud: &C,
        packages: &BTreeMap<String, PackageRef>,
    ) -> anyhow::Result<(model::Context, Vec<Resource>)> {
        let ctx = cloud
            .context()
            .await
            .context("reading the target's account and region")?;
        let resources = desired::desired(&self.stack, &ctx, packages);
        Ok((ctx, resources))
    }
}
