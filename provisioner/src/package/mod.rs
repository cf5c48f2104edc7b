//! Lambda packages: build function binaries with cargo and zip each as a
//! deterministic `bootstrap` archive for the `provided.al2023` runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), stackctl::package::PackageError> {
//! use stackctl::package::{Arch, BuildRequest, Builder};
//! let reqs: Vec<BuildRequest> = ["generator", "processor", "promotion"]
//!     .into_iter()
//!     .map(|bin| BuildRequest::new("functions", bin, Arch::X86_64))
//!     .collect();
//! for pkg in Builder::new().build(&reqs).await? {
//!     println!("{} {} {} bytes {}", pkg.function_binary, pkg.zip_path.display(), pkg.size, pkg.code_sha256);
//! }
//! # Ok(()) }
//! ```
//!
//! docs/packaging.md explains the choices (toolchains, glibc, determinism).

mod archive;
mod cargo;
mod elf;
mod error;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use archive::{
    BOOTSTRAP, BOOTSTRAP_MODE, DEFLATE_LEVEL, code_sha256, zip_bootstrap, zip_bootstrap_bytes,
};
pub use elf::{
    ElfInfo, GlibcReq, LAMBDA_AL2023_GLIBC, check_glibc, glibc_fix, glibc_requirement, inspect_elf,
};
pub use error::PackageError;

/// A Lambda instruction set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// `x86_64` (Lambda's default).
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Arch {
    /// Lambda's name: `x86_64` or `arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The Rust glibc target for this architecture.
    pub fn rust_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The architecture this program runs on, if Lambda has it.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Arch {
    type Err = PackageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            _ => Err(PackageError::UnknownArch {
                given: s.to_owned(),
            }),
        }
    }
}

impl TryFrom<&str> for Arch {
    type Error = PackageError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// How binaries are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toolchain {
    /// Plain `cargo build` for the host: reuses the artifacts of
    /// `cargo test --release --workspace`; links against the host's glibc.
    Native,
    /// `cargo zigbuild --target <arch>-unknown-linux-gnu.<glibc>`: pins the
    /// glibc version and can cross-compile; compiles the dependencies a
    /// second time (for the explicit target).
    Zigbuild,
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Toolchain::Native => "native",
            Toolchain::Zigbuild => "zigbuild",
        })
    }
}

/// One function binary to package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// Directory holding the cargo package (e.g. `<stack dir>/functions`);
    /// the build runs at the root of its workspace.
    pub workspace_dir: PathBuf,
    /// Name of the `[[bin]]` target.
    pub binary: String,
    /// Lambda architecture.
    pub architecture: Arch,
}

impl BuildRequest {
    /// Shorthand constructor.
    pub fn new(workspace_dir: impl Into<PathBuf>, binary: impl Into<String>, arch: Arch) -> Self {
        BuildRequest {
            workspace_dir: workspace_dir.into(),
            binary: binary.into(),
            architecture: arch,
        }
    }
}

/// A built and zipped function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The binary's target name.
    pub function_binary: String,
    /// The zip, ready for `UpdateFunctionCode` / `CreateFunction`.
    pub zip_path: PathBuf,
    /// base64 SHA-256 of the zip bytes: what Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    /// Zip size in bytes.
    pub size: u64,
    /// Newest glibc version the binary needs; `None` when static (or when it
    /// names no glibc version).
    pub glibc_max: Option<(u32, u32)>,
    /// The full glibc requirement.
    pub glibc: GlibcReq,
    /// Architecture of the binary.
    pub architecture: Arch,
    /// Toolchain that built it.
    pub toolchain: Toolchain,
    /// The executable cargo produced (inside the target directory).
    pub executable: PathBuf,
}

/// A package zip found where a build leaves it ([`Builder::existing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The binary's target name.
    pub function_binary: String,
    /// The zip.
    pub zip_path: PathBuf,
    /// base64 SHA-256 of the zip bytes (Lambda's `CodeSha256`).
    pub code_sha256: String,
    /// Zip size in bytes.
    pub size: u64,
}

/// Builds packages. `Builder::new()` gives the defaults; the setters change them.
#[derive(Debug, Clone)]
pub struct Builder {
    profile: String,
    target_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    toolchain: Option<Toolchain>,
    glibc_limit: (u32, u32),
    cargo: PathBuf,
    echo: Option<Echo>,
}

/// Where the builder's progress goes: cargo's lines and the commands it
/// runs. The CLI points it at its `Printer`; none means silent.
#[derive(Clone)]
pub struct Echo(std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl Echo {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Echo(std::sync::Arc::new(f))
    }

    pub(crate) fn line(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Echo(..)")
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: profile `release`; cargo's own target directory
    /// (`CARGO_TARGET_DIR`, `.cargo/config.toml` or `<workspace>/target`, as
    /// `cargo metadata` reports it); zips in
    /// `<target dir>/stackctl-packages/<workspace>-<hash>/<profile>`;
    /// toolchain chosen automatically (see [`Builder::toolchain`]); glibc limit
    /// 2.34; cargo from `$CARGO`, else `cargo` on `PATH`; nothing echoed
    /// (see [`Builder::echo`]).
    pub fn new() -> Self {
        Builder {
            profile: "release".to_owned(),
            target_dir: None,
            out_dir: None,
            toolchain: None,
            glibc_limit: LAMBDA_AL2023_GLIBC,
            cargo: std::env::var_os("CARGO")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("cargo")),
            echo: None,
        }
    }

    /// Cargo profile (`release` → `--release`, others → `--profile NAME`).
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = profile.into();
        self
    }

    /// Target directory passed to cargo as `--target-dir`.
    pub fn target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// Where the zips go (default
    /// `<target dir>/stackctl-packages/<workspace>-<hash>/<profile>`, a
    /// folder per workspace and profile).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Force a toolchain. Without this call the builder uses
    /// [`Toolchain::Native`] when the host has the requested architecture and
    /// the binary passes the glibc check, and [`Toolchain::Zigbuild`]
    /// otherwise (when cargo-zigbuild is installed; if not, the error says how
    /// to install it).
    pub fn toolchain(mut self, toolchain: Toolchain) -> Self {
        self.toolchain = Some(toolchain);
        self
    }

    /// The newest glibc the runtime has (default 2.34, `provided.al2023`).
    pub fn glibc_limit(mut self, limit: (u32, u32)) -> Self {
        self.glibc_limit = limit;
        self
    }

    /// The cargo executable to run.
    pub fn cargo(mut self, cargo: impl Into<PathBuf>) -> Self {
        self.cargo = cargo.into();
        self
    }

    /// Echo cargo's output and the commands run to `echo`.
    pub fn echo(mut self, echo: Echo) -> Self {
        self.echo = Some(echo);
        self
    }

    /// Echo nothing (cargo's stderr is still kept for error messages).
    pub fn quiet(mut self, quiet: bool) -> Self {
        if quiet {
            self.echo = None;
        }
        self
    }

    /// The glibc-versioned zigbuild target for `arch`, e.g.
    /// `x86_64-unknown-linux-gnu.2.34`.
    pub fn zigbuild_target(&self, arch: Arch) -> String {
        format!(
            "{}.{}.{}",
            arch.rust_triple(),
            self.glibc_limit.0,
            self.glibc_limit.1
        )
    }

    /// Build every requested binary and zip each. Requests sharing a
    /// workspace and architecture are compiled by one cargo invocation;
    /// packages come back in request order.
    pub async fn build(&self, reqs: &[BuildRequest]) -> Result<Vec<Package>, PackageError> {
        cargo::build(self, reqs).await
    }

    /// The zips an earlier [`Builder::build`] left for these requests, without
    /// running the build: for a deploy that must ship exactly what an
    /// earlier step built (and tested). Nothing checks that they are as new
    /// as the sources; a missing zip is [`PackageError::NotBuilt`].
    pub async fn existing(&self, reqs: &[BuildRequest]) -> Result<Vec<Built>, PackageError> {
        cargo::existing(self, reqs).await
    }
}
