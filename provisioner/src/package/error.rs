//! Errors of the package builder. Every message says what to do next.

use std::path::PathBuf;

use super::Arch;

/// How to get a binary Lambda's glibc can load; shared by several errors.
pub(crate) const ZIGBUILD_FIX: &str = "install cargo-zigbuild and Zig from PyPI \
(`pip install cargo-zigbuild ziglang`) and build with the zigbuild toolchain \
(`Toolchain::Zigbuild`), which links against Lambda's glibc \
(`cargo zigbuild --target x86_64-unknown-linux-gnu.2.34`, aarch64-unknown-linux-gnu.2.34 for arm64)";

/// Everything that can go wrong while building, checking or zipping a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A build request is malformed (empty or path-like binary name, duplicate, ...).
    #[error("invalid build request: {reason}; fix the request and retry")]
    InvalidRequest {
        /// What is wrong with it.
        reason: String,
    },

    /// An architecture name other than `x86_64` or `arm64`.
    #[error(
        "unknown Lambda architecture {given:?}: use \"x86_64\" or \"arm64\" (aliases: amd64, aarch64)"
    )]
    UnknownArch {
        /// The name given.
        given: String,
    },

    /// A program (cargo, cargo-zigbuild) could not be started.
    #[error("could not run `{program}`: {source}; {hint}")]
    Spawn {
        /// Program that failed to start.
        program: String,
        /// What to do about it.
        hint: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// `cargo metadata` failed or printed something unexpected.
    #[error(
        "`cargo metadata` failed for {manifest}: {detail}; check that the directory holds a Cargo \
         package (`cargo metadata --manifest-path {manifest}` shows the same error)"
    )]
    Metadata {
        /// The manifest given to cargo.
        manifest: PathBuf,
        /// cargo's error output or the parse failure.
        detail: String,
    },

    /// A requested binary is no `[[bin]]` target of the workspace.
    #[error(
        "the workspace at {workspace} has no binary target named {binary:?}; available binaries: \
         {available}; fix the binary name in the request (or stack.yaml)"
    )]
    UnknownBinary {
        /// Requested name.
        binary: String,
        /// The workspace root.
        workspace: PathBuf,
        /// The binaries that do exist, comma separated.
        available: String,
    },

    /// The native toolchain cannot produce code for the requested architecture.
    #[error(
        "the native toolchain builds for the host ({host}) only, but {binary:?} was requested for \
         {requested}; use `Toolchain::Zigbuild` (needs `pip install cargo-zigbuild ziglang` and \
         `rustup target add {triple}`) or request the host architecture"
    )]
    HostArchMismatch {
        /// Binary name.
        binary: String,
        /// Host architecture.
        host: String,
        /// Requested architecture.
        requested: Arch,
        /// The Rust target the build needs.
        triple: String,
    },

    /// The zigbuild toolchain is needed but `cargo zigbuild` does not work.
    #[error(
        "cargo-zigbuild is needed {why} but is not usable ({detail}); install it with \
         `pip install cargo-zigbuild ziglang` (or `cargo install cargo-zigbuild` plus Zig on PATH)"
    )]
    ZigbuildUnavailable {
        /// Why zigbuild was chosen.
        why: String,
        /// What went wrong when probing it.
        detail: String,
    },

    /// cargo exited with an error.
    #[error(
        "`{command}` failed ({status}); the compiler output is above{tail}; fix the build error \
         and retry (the same command run by hand shows it again)"
    )]
    CargoFailed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// The last lines cargo printed on stderr, prefixed with ":\n" when present.
        tail: String,
    },

    /// cargo succeeded but did not report an executable for a requested binary.
    #[error(
        "cargo reported no executable for binary {binary:?} (target {target}); check that \
         {binary:?} is a `[[bin]]` target that builds for {target}, then retry"
    )]
    ArtifactMissing {
        /// Binary name.
        binary: String,
        /// The Rust target triple or "host".
        target: String,
    },

    /// A file is not an ELF executable.
    #[error(
        "{what} is not an ELF file ({detail}); Lambda's provided runtimes need a Linux ELF \
         executable: build for a Linux target"
    )]
    NotElf {
        /// Name of the binary or file.
        what: String,
        /// Details.
        detail: String,
    },

    /// The ELF file is damaged or uses structures this reader cannot interpret.
    #[error(
        "{what}: malformed ELF: {detail}; rebuild the binary (and report a bug if it persists)"
    )]
    MalformedElf {
        /// Name of the binary or file.
        what: String,
        /// Details.
        detail: String,
    },

    /// The binary is for another CPU than the Lambda function.
    #[error(
        "{binary}: the executable is for {found} but the function runs on {expected}; build with \
         `--target {triple}` (`Toolchain::Zigbuild` does this) or change the function's architecture"
    )]
    ArchMismatch {
        /// Binary name.
        binary: String,
        /// Lambda architecture.
        expected: Arch,
        /// What the ELF header says.
        found: String,
        /// The target triple to build for.
        triple: String,
    },

    /// The binary needs a newer glibc than Lambda's runtime has.
    #[error(
        "{binary} needs glibc {found_major}.{found_minor} (symbol version GLIBC_{found_major}.{found_minor}{symbols}) \
         but Lambda provided.al2023 has glibc {limit_major}.{limit_minor}, so the function would fail \
         to start; {fix}",
        fix = ZIGBUILD_FIX
    )]
    GlibcTooNew {
        /// Binary name.
        binary: String,
        /// Major part of the newest GLIBC_x.y the binary needs.
        found_major: u32,
        /// Minor part.
        found_minor: u32,
        /// Major part of the runtime's glibc.
        limit_major: u32,
        /// Minor part.
        limit_minor: u32,
        /// ", needed by: a, b" or empty.
        symbols: String,
    },

    /// `--no-build` found no package of a previous build.
    #[error(
        "no package of {binary:?} for {arch} at {zip}: nothing was built yet (or the target \
         directory was cleaned); run the same command once without --no-build, which builds it"
    )]
    NotBuilt {
        /// The binary's target name.
        binary: String,
        /// Its architecture.
        arch: Arch,
        /// Where a build leaves its zip.
        zip: PathBuf,
    },

    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}; check the path, permissions and free disk space")]
    Io {
        /// "reading", "writing", ...
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The zip library failed.
    #[error("writing zip {path}: {source}; check free disk space and retry")]
    Zip {
        /// The zip being written.
        path: PathBuf,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },

    /// A background task died (a bug, or the runtime shutting down).
    #[error("packaging task for {binary} failed: {detail}; retry, and report a bug if it persists")]
    Task {
        /// Binary being packaged.
        binary: String,
        /// Join error.
        detail: String,
    },
}

impl PackageError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        PackageError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
