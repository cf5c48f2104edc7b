//! Reading what a Lambda binary needs from the system: CPU and glibc version.
//!
//! The glibc requirement is the newest `GLIBC_x.y` version named in the ELF
//! `.gnu.version_r` (`SHT_GNU_VERNEED`) section: the dynamic loader refuses to
//! start a binary when the C library lacks one of these versions.

use object::elf;
use object::read::SymbolIndex;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _, Sym as _};
use object::{Endianness, FileKind};

use super::{Arch, PackageError, error::ZIGBUILD_FIX};

/// The glibc version Lambda's `provided.al2023` runtime ships (x86_64 and arm64).
pub const LAMBDA_AL2023_GLIBC: (u32, u32) = (2, 34);

/// What a binary asks of the C library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlibcReq {
    /// Statically linked: no interpreter and no `DT_NEEDED` libraries.
    Static,
    /// Dynamically linked.
    Dynamic {
        /// Newest `GLIBC_x.y` version needed; `None` when the binary names no
        /// glibc version (e.g. a dynamically linked musl binary).
        max: Option<(u32, u32)>,
        /// Up to a few dynamic symbols bound to that newest version (empty when
        /// the binary has no symbol version table).
        symbols: Vec<String>,
    },
}

impl GlibcReq {
    /// The newest glibc version needed, if any.
    pub fn max(&self) -> Option<(u32, u32)> {
        match self {
            GlibcReq::Static => None,
            GlibcReq::Dynamic { max, .. } => *max,
        }
    }

    /// True when the binary loads on a system with glibc `limit`.
    pub fn satisfied_by(&self, limit: (u32, u32)) -> bool {
        self.max().is_none_or(|max| max <= limit)
    }
}

impl std::fmt::Display for GlibcReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GlibcReq::Static => f.write_str("static"),
            GlibcReq::Dynamic {
                max: Some((a, b)), ..
            } => write!(f, "dynamic, GLIBC_{a}.{b}"),
            GlibcReq::Dynamic { max: None, .. } => f.write_str("dynamic, no glibc version"),
        }
    }
}

/// CPU and C library needs of an ELF executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// The Lambda architecture, when the machine is x86_64 or aarch64.
    pub arch: Option<Arch>,
    /// ELF `e_machine` as a name (for messages).
    pub machine: String,
    /// glibc requirement.
    pub glibc: GlibcReq,
}

/// How many symbols to name in an error.
const MAX_SYMBOLS: usize = 5;

/// The glibc requirement of an ELF file (see [`inspect_elf`]).
pub fn glibc_requirement(elf_bytes: &[u8]) -> Result<GlibcReq, PackageError> {
    inspect_elf(elf_bytes, "binary").map(|info| info.glibc)
}

/// Read the machine and glibc requirement of an ELF file. `what` names the
/// file in errors. Never panics, whatever the bytes.
pub fn inspect_elf(bytes: &[u8], what: &str) -> Result<ElfInfo, PackageError> {
    // object's ELF structures are aligned types: re-align the data if needed
    // (a sub-slice of a buffer need not be 8-byte aligned).
    let mut owned = Vec::new();
    let data = aligned(bytes, &mut owned);
    let not_elf = |detail: String| PackageError::NotElf {
        what: what.to_owned(),
        detail,
    };
    if data.len() < 4 || data[..4] != elf::ELFMAG {
        return Err(not_elf(format!(
            "{} bytes, no ELF magic number",
            data.len()
        )));
    }
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => inspect::<elf::FileHeader64<Endianness>>(data, what),
        Ok(FileKind::Elf32) => inspect::<elf::FileHeader32<Endianness>>(data, what),
        Ok(other) => Err(not_elf(format!("file kind {other:?}"))),
        Err(e) => Err(PackageError::MalformedElf {
            what: what.to_owned(),
            detail: e.to_string(),
        }),
    }
}

/// Refuse a binary whose glibc requirement is newer than `limit`.
pub fn check_glibc(binary: &str, req: &GlibcReq, limit: (u32, u32)) -> Result<(), PackageError> {
    match req {
        GlibcReq::Dynamic {
            max: Some(max),
            symbols,
        } if *max > limit => Err(PackageError::GlibcTooNew {
            binary: binary.to_owned(),
            found_major: max.0,
            found_minor: max.1,
            limit_major: limit.0,
            limit_minor: limit.1,
            symbols: if symbols.is_empty() {
                String::new()
            } else {
                format!(", needed by {}", symbols.join(", "))
            },
        }),
        _ => Ok(()),
    }
}

/// The fix text used in glibc errors, for callers composing their own messages.
pub fn glibc_fix() -> &'static str {
    ZIGBUILD_FIX
}

fn aligned<'a>(bytes: &'a [u8], owned: &'a mut Vec<u8>) -> &'a [u8] {
    const ALIGN: usize = 8;
    if bytes.as_ptr().align_offset(ALIGN) == 0 {
        return bytes;
    }
    owned.reserve_exact(bytes.len() + ALIGN);
    let pad = owned.as_ptr().align_offset(ALIGN).min(ALIGN);
    owned.resize(pad, 0);
    owned.extend_from_slice(bytes);
    &owned[pad..]
}

/// Parse `GLIBC_2.34` or `GLIBC_2.2.5` into (2, 34) / (2, 2); None for
/// anything else (`GLIBC_PRIVATE`, `GCC_3.0`, ...).
pub(crate) fn parse_glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(b"GLIBC_")?;
    let text = std::str::from_utf8(rest).ok()?;
    let mut parts = text.split('.');
    let major = parts.next()?.parse::<u32>().ok()?;
    let minor = match parts.next() {
        Some(m) => m.parse::<u32>().ok()?,
        None => 0,
    };
    // A third component (2.2.5) is a patch level: it does not raise the
    // requirement above (major, minor).
    if let Some(patch) = parts.next() {
        patch.parse::<u32>().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor))
}

fn machine_name(machine: elf::Machine) -> (Option<Arch>, String) {
    if machine == elf::EM_X86_64 {
        (Some(Arch::X86_64), "x86_64".to_owned())
    } else if machine == elf::EM_AARCH64 {
        (Some(Arch::Arm64), "aarch64".to_owned())
    } else if machine == elf::EM_386 {
        (None, "i386".to_owned())
    } else if machine == elf::EM_ARM {
        (None, "arm (32-bit)".to_owned())
    } else {
        (None, format!("ELF machine {}", machine.0))
    }
}

fn inspect<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    what: &str,
) -> Result<ElfInfo, PackageError> {
    let bad = |detail: &dyn std::fmt::Display| PackageError::MalformedElf {
        what: what.to_owned(),
        detail: detail.to_string(),
    };
    let header = Elf::parse(data).map_err(|e| bad(&e))?;
    let endian = header.endian().map_err(|e| bad(&e))?;
    let (arch, machine) = machine_name(header.e_machine(endian));

    // Program headers: an interpreter or DT_NEEDED entries mean dynamic linking.
    let segments = header.program_headers(endian, data).map_err(|e| bad(&e))?;
    let mut interpreter = false;
    let mut needed = false;
    let mut has_verneed_tag = false;
    for segment in segments {
        if segment.p_type(endian) == elf::PT_INTERP {
            interpreter = true;
        }
        if let Some(dynamics) = segment.dynamic(endian, data).map_err(|e| bad(&e))? {
            for d in dynamics {
                let tag = d.tag(endian);
                if tag == elf::DT_NULL {
                    break;
                }
                if tag == elf::DT_NEEDED {
                    needed = true;
                }
                if tag == elf::DT_VERNEED {
                    has_verneed_tag = true;
                }
            }
        }
    }
    if !interpreter && !needed {
        return Ok(ElfInfo {
            arch,
            machine,
            glibc: GlibcReq::Static,
        });
    }

    // Section headers: the version needs (`.gnu.version_r`).
    let sections = header.sections(endian, data).map_err(|e| bad(&e))?;
    let verneed = sections.gnu_verneed(endian, data).map_err(|e| bad(&e))?;
    let Some((mut needs, link)) = verneed else {
        if has_verneed_tag {
            return Err(bad(
                &"the dynamic segment has DT_VERNEED but there are no section headers to read it \
                  from (was the binary stripped with sstrip?)",
            ));
        }
        return Ok(ElfInfo {
            arch,
            machine,
            glibc: GlibcReq::Dynamic {
                max: None,
                symbols: Vec::new(),
            },
        });
    };
    let strings = sections.strings(endian, data, link).map_err(|e| bad(&e))?;
    let mut max: Option<((u32, u32), &[u8])> = None;
    while let Some((_need, mut auxs)) = needs.next().map_err(|e| bad(&e))? {
        while let Some(aux) = auxs.next().map_err(|e| bad(&e))? {
            let name = aux.name(endian, strings).map_err(|e| bad(&e))?;
            if let Some(version) = parse_glibc_version(name)
                && max.is_none_or(|(m, _)| version > m)
            {
                max = Some((version, name));
            }
        }
    }
    let symbols = match max {
        Some((_, name)) => symbols_with_version::<Elf>(&sections, endian, data, name),
        None => Vec::new(),
    };
    Ok(ElfInfo {
        arch,
        machine,
        glibc: GlibcReq::Dynamic {
            max: max.map(|(v, _)| v),
            symbols,
        },
    })
}

/// Best effort: the dynamic symbols bound to version `name` (at most
/// [`MAX_SYMBOLS`], sorted). Errors yield an empty list: the names only
/// decorate an error message.
fn symbols_with_version<'data, Elf: FileHeader<Endian = Endianness>>(
    sections: &object::read::elf::SectionTable<'data, Elf, &'data [u8]>,
    endian: Endianness,
    data: &'data [u8],
    name: &[u8],
) -> Vec<String> {
    let Ok(Some(versions)) = sections.versions(endian, data) else {
        return Vec::new();
    };
    let Ok(dynsym) = sections.symbols(endian, data, elf::SHT_DYNSYM) else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    for (index, sym) in dynsym.iter().enumerate() {
        let version_index = versions.version_index(endian, SymbolIndex(index)).index();
        let Ok(Some(version)) = versions.version(version_index) else {
            continue;
        };
        if version.name() != name {
            continue;
        }
        if let Ok(sym_name) = sym.name(endian, dynsym.strings()) {
            found.push(String::from_utf8_lossy(sym_name).into_owned());
        }
    }
    found.sort();
    found.dedup();
    if found.len() > MAX_SYMBOLS {
        let more = found.len() - MAX_SYMBOLS;
        found.truncate(MAX_SYMBOLS);
        found.push(format!("and {more} more"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_glibc_version_names() {
        assert_eq!(parse_glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(parse_glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(parse_glibc_version(b"GLIBC_2"), Some((2, 0)));
        assert_eq!(parse_glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc_version(b"GCC_3.0"), None);
        assert_eq!(parse_glibc_version(b"GLIBC_2.x"), None);
        assert_eq!(parse_glibc_version(b"GLIBC_2.3.4.5"), None);
        assert_eq!(parse_glibc_version(b"GLIBC_"), None);
        assert_eq!(parse_glibc_version(b"GLIBC_99999999999.1"), None);
    }

    #[test]
    fn realigns_unaligned_input() {
        let buf = [0u8; 64];
        let mut owned = Vec::new();
        let out = aligned(&buf[1..], &mut owned);
        assert_eq!(out.as_ptr().align_offset(8), 0);
        assert_eq!(out, &buf[1..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\x7fEL",
            b"\x7fELF",
            b"\x7fELF\x02\x01\x01",
            b"MZ\x90\x00",
            &[
                0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 62, 0,
            ],
        ] {
            assert!(glibc_requirement(bytes).is_err(), "{bytes:?}");
        }
    }
}
