//! Build information: Go version, modules and build settings (`go version -m`).

use crate::binary::{Format, GoBinary, SectionKind};
use crate::bytes::{find, uvarint, Encoding, Endian};
use crate::quote::{go_quote, go_unquote, quoted_prefix};
use crate::{Error, GoVersion, Location, Result};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_SIZE: u64 = 32;
const ALIGN: u64 = 16;
/// Cap on the version and modinfo strings (real ones are a few KiB).
const MAX_STRING: u64 = 16 << 20;
/// Cap on the bytes scanned for the magic when there is no build-info section.
const MAX_SCAN: usize = 64 << 20;
/// Cap on module and setting lines.
const MAX_LINES: usize = 1 << 20;

/// How the build-info header refers to its strings.
///
/// ```
/// assert_ne!(gobinary::HeaderForm::Inline, gobinary::HeaderForm::Pointer);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderForm {
    /// Before Go 1.18: two pointers to Go string headers.
    Pointer,
    /// Go 1.18 and later: uvarint-length-prefixed strings after the header.
    Inline,
}

/// A module: the main module, a dependency or a replacement.
///
/// ```
/// let m = gobinary::Module { path: "golang.org/x/text".into(), version: "v0.3.0".into(), sum: String::new(), replace: None };
/// assert!(m.replace.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Module version (`(devel)` for the main module of a plain build).
    pub version: String,
    /// Checksum (`h1:…`), possibly empty.
    pub sum: String,
    /// Replacement, when the module was replaced.
    pub replace: Option<Box<Module>>,
}

/// One `build key=value` line.
///
/// ```
/// let s = gobinary::BuildSetting { key: "GOOS".into(), value: "linux".into() };
/// assert_eq!(s.key, "GOOS");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSetting {
    /// Setting name (`-ldflags`, `GOARCH`, `vcs.revision`, …).
    pub key: String,
    /// Its value.
    pub value: String,
}

/// The build information embedded by the Go linker.
///
/// ```no_run
/// let bytes = std::fs::read("hello")?;
/// let bin = gobinary::GoBinary::parse(&bytes)?;
/// let info = bin.build_info()?;
/// println!("{}", info.go_version);
/// print!("{}", info.render_version_m("hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The Go version string, with any ` X:` experiment suffix.
    pub go_version: String,
    /// The main package's import path.
    pub path: String,
    /// The main module, if recorded.
    pub main: Option<Module>,
    /// Dependencies, in the order recorded.
    pub deps: Vec<Module>,
    /// Build settings, in the order recorded.
    pub settings: Vec<BuildSetting>,
    /// The module-info text between its sentinels, as stored.
    pub raw_modinfo: String,
    /// Address of the build-info header.
    pub address: u64,
    /// How the header refers to its strings.
    pub form: HeaderForm,
}

impl BuildInfo {
    /// The Go version parsed into numbers and experiments.
    ///
    /// ```no_run
    /// # fn f(info: &gobinary::BuildInfo) {
    /// if let Some(v) = info.version() { println!("1.{}", v.minor); }
    /// # }
    /// ```
    pub fn version(&self) -> Option<GoVersion> {
        GoVersion::parse(&self.go_version)
    }

    /// The value of a build setting (`GOOS`, `GOARCH`, `-ldflags`, `vcs.revision`, …).
    ///
    /// ```no_run
    /// # fn f(info: &gobinary::BuildInfo) {
    /// let goos = info.setting("GOOS");
    /// # }
    /// ```
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }

    /// Parses module-info text (the body between the sentinels).
    ///
    /// ```
    /// let info = gobinary::BuildInfo::parse_modinfo("go1.22.1", "path\tx\nmod\tx\t(devel)\t\nbuild\tGOOS=linux\n").unwrap();
    /// assert_eq!(info.main.as_ref().unwrap().version, "(devel)");
    /// assert_eq!(info.setting("GOOS"), Some("linux"));
    /// ```
    pub fn parse_modinfo(go_version: &str, modinfo: &str) -> Result<BuildInfo> {
        let mut info = BuildInfo {
            go_version: go_version.to_string(),
            path: String::new(),
            main: None,
            deps: Vec::new(),
            settings: Vec::new(),
            raw_modinfo: modinfo.to_string(),
            address: 0,
            form: HeaderForm::Inline,
        };
        // Which module a following `=>` line replaces.
        enum Last {
            None,
            Main,
            Dep,
        }
        let mut last = Last::None;
        let mut rest = modinfo;
        for line_no in 1..=MAX_LINES {
            let Some((line, tail)) = rest.split_once('\n') else {
                break;
            };
            rest = tail;
            let bad = |reason: String| {
                Error::malformed(
                    "build info",
                    Location::TableOffset("modinfo line", line_no as u64),
                    reason,
                )
                .with_go_version(Some(go_version))
            };
            if let Some(p) = line.strip_prefix("path\t") {
                info.path = p.to_string();
            } else if let Some(m) = line.strip_prefix("mod\t") {
                info.main = Some(module_line(m).map_err(bad)?);
                last = Last::Main;
            } else if let Some(m) = line.strip_prefix("dep\t") {
                info.deps.push(module_line(m).map_err(bad)?);
                last = Last::Dep;
            } else if let Some(m) = line.strip_prefix("=>\t") {
                let cols: Vec<&str> = m.split('\t').collect();
                let [path, version, sum] = cols.as_slice() else {
                    return Err(bad(format!(
                        "expected 3 columns for replacement; got {}",
                        cols.len()
                    )));
                };
                let rep = Some(Box::new(Module {
                    path: path.to_string(),
                    version: version.to_string(),
                    sum: sum.to_string(),
                    replace: None,
                }));
                match last {
                    Last::Main => {
                        if let Some(m) = info.main.as_mut() {
                            m.replace = rep;
                        }
                    }
                    Last::Dep => {
                        if let Some(m) = info.deps.last_mut() {
                            m.replace = rep;
                        }
                    }
                    Last::None => {
                        return Err(bad("replacement with no module on previous line".into()))
                    }
                }
                last = Last::None;
            } else if let Some(kv) = line.strip_prefix("build\t") {
                info.settings.push(setting_line(kv).map_err(bad)?);
            }
        }
        Ok(info)
    }

    /// Renders the module information as Go's `debug.BuildInfo.String` does
    /// (without the `go` line).
    ///
    /// ```
    /// let info = gobinary::BuildInfo::parse_modinfo("go1.22.1", "path\tx\nbuild\t-ldflags=\"-s -w\"\n").unwrap();
    /// assert_eq!(info.modinfo_string(), "path\tx\nbuild\t-ldflags=\"-s -w\"\n");
    /// ```
    pub fn modinfo_string(&self) -> String {
        let mut out = String::new();
        if !self.path.is_empty() {
            out.push_str("path\t");
            out.push_str(&self.path);
            out.push('\n');
        }
        fn module(out: &mut String, word: &str, m: &Module, depth: u32) {
            out.push_str(word);
            out.push('\t');
            out.push_str(&m.path);
            out.push('\t');
            out.push_str(&m.version);
            match &m.replace {
                Some(r) if depth < 8 => {
                    out.push('\n');
                    module(out, "=>", r, depth.saturating_add(1));
                }
                _ => {
                    out.push('\t');
                    out.push_str(&m.sum);
                }
            }
            out.push('\n');
        }
        if let Some(m) = &self.main {
            if *m != Module::default() {
                module(&mut out, "mod", m, 0);
            }
        }
        for d in &self.deps {
            module(&mut out, "dep", d, 0);
        }
        for s in &self.settings {
            let key = if quote_key(&s.key) {
                go_quote(s.key.as_bytes())
            } else {
                s.key.clone()
            };
            let value = if quote_value(&s.value) {
                go_quote(s.value.as_bytes())
            } else {
                s.value.clone()
            };
            out.push_str("build\t");
            out.push_str(&key);
            out.push('=');
            out.push_str(&value);
            out.push('\n');
        }
        out
    }

    /// Renders exactly what `go version -m FILE` prints for this binary, given the
    /// file name as it was passed on the command line.
    ///
    /// ```
    /// let info = gobinary::BuildInfo::parse_modinfo("go1.22.1", "path\tx\nmod\tx\t(devel)\t\n").unwrap();
    /// assert_eq!(info.render_version_m("./x"), "./x: go1.22.1\n\tpath\tx\n\tmod\tx\t(devel)\t\n");
    /// ```
    pub fn render_version_m(&self, file: &str) -> String {
        let mut out = format!("{file}: {}\n", self.go_version);
        let m = self.modinfo_string();
        if let Some(body) = m.strip_suffix('\n') {
            out.push('\t');
            out.push_str(&body.replace('\n', "\n\t"));
            out.push('\n');
        }
        out
    }
}

fn quote_key(k: &str) -> bool {
    k.is_empty() || k.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

fn quote_value(v: &str) -> bool {
    v.contains([' ', '\t', '\r', '\n', '"', '`'])
}

fn module_line(rest: &str) -> std::result::Result<Module, String> {
    let cols: Vec<&str> = rest.split('\t').collect();
    match cols.as_slice() {
        [path, version] => Ok(Module {
            path: path.to_string(),
            version: version.to_string(),
            ..Module::default()
        }),
        [path, version, sum] => Ok(Module {
            path: path.to_string(),
            version: version.to_string(),
            sum: sum.to_string(),
            replace: None,
        }),
        _ => Err(format!("expected 2 or 3 columns; got {}", cols.len())),
    }
}

fn setting_line(kv: &str) -> std::result::Result<BuildSetting, String> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'`' | b'"') => {
            let n = quoted_prefix(kv).ok_or("invalid quoted key in build line")?;
            let raw_key = kv.get(..n).ok_or("invalid quoted key")?;
            let rest = kv.get(n..).unwrap_or("");
            let value = rest
                .strip_prefix('=')
                .ok_or("build line missing '=' after quoted key")?;
            (
                go_unquote(raw_key).ok_or("invalid quoted key in build line")?,
                value,
            )
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            if quote_key(k) {
                return Err(format!("unquoted key {k:?} must be quoted"));
            }
            (k.to_string(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'`' | b'"') => go_unquote(raw_value).ok_or("invalid quoted value in build line")?,
        _ => {
            if quote_value(raw_value) {
                return Err(format!("unquoted value {raw_value:?} must be quoted"));
            }
            raw_value.to_string()
        }
    };
    Ok(BuildSetting { key, value })
}

impl<'data> GoBinary<'data> {
    /// Finds and parses the build information: by section (`.go.buildinfo`,
    /// `__go_buildinfo`), else by scanning writable data for the 16-byte-aligned
    /// magic `\xff Go buildinf:`. Both header forms (pre-1.18 pointers, 1.18+ inline
    /// strings) are read.
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let info = bin.build_info()?;
    /// for dep in &info.deps {
    ///     println!("{} {}", dep.path, dep.version);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn build_info(&self) -> Result<BuildInfo> {
        let addr = self.find_build_info()?;
        self.build_info_at(addr)
    }

    fn find_build_info(&self) -> Result<u64> {
        for name in [".go.buildinfo", "__go_buildinfo"] {
            if let Some(s) = self.section(name) {
                if s.data.starts_with(MAGIC) {
                    return Ok(s.address);
                }
            }
        }
        // Scan writable data (PE: the first initialized writable section holds it).
        let mut candidates: Vec<_> = self
            .sections()
            .iter()
            .filter(|s| s.kind == SectionKind::Data && !s.data.is_empty())
            .collect();
        if self.format() == Format::Pe {
            candidates.truncate(1);
        }
        let mut scanned = 0usize;
        for s in candidates {
            let mut from = 0usize;
            while let Some(i) = find(s.data, MAGIC, from) {
                let addr = s.address.saturating_add(i as u64);
                if addr % ALIGN == 0 {
                    return Ok(addr);
                }
                from = i.saturating_add(1);
            }
            scanned = scanned.saturating_add(s.data.len());
            if scanned > MAX_SCAN {
                break;
            }
        }
        Err(self.not_found("build info"))
    }

    /// Parses the build-info header at `addr`.
    fn build_info_at(&self, addr: u64) -> Result<BuildInfo> {
        let bad =
            |at: u64, reason: &str| Error::malformed("build info", Location::Address(at), reason);
        let header = self.read_at(addr, HEADER_SIZE)?;
        if !header.starts_with(MAGIC) {
            return Err(bad(addr, "no magic"));
        }
        let ptr_size = *header.get(14).ok_or_else(|| bad(addr, "short header"))?;
        let flags = *header.get(15).ok_or_else(|| bad(addr, "short header"))?;
        let (version, modinfo, form) = if flags & 2 != 0 {
            let (version, next) = self.uvarint_string(addr.saturating_add(HEADER_SIZE))?;
            let (modinfo, _) = self.uvarint_string(next)?;
            (version, modinfo, HeaderForm::Inline)
        } else {
            if ptr_size != 4 && ptr_size != 8 {
                return Err(bad(addr, "pointer size is neither 4 nor 8"));
            }
            let enc = Encoding {
                endian: if flags & 1 != 0 {
                    Endian::Big
                } else {
                    Endian::Little
                },
                ptr_size,
            };
            let p = usize::from(ptr_size);
            let vers_ptr = enc
                .read_ptr(header, 16)
                .ok_or_else(|| bad(addr, "short header"))?;
            let mod_ptr = enc
                .read_ptr(header, 16 + p)
                .ok_or_else(|| bad(addr, "short header"))?;
            (
                self.string_header(enc, vers_ptr).unwrap_or_default(),
                self.string_header(enc, mod_ptr).unwrap_or_default(),
                HeaderForm::Pointer,
            )
        };
        if version.is_empty() {
            return Err(bad(addr, "empty Go version"));
        }
        let version = String::from_utf8_lossy(version).into_owned();
        // Strip the 16-byte sentinels around the module info.
        let n = modinfo.len();
        let body = if n >= 33 && modinfo.get(n - 17) == Some(&b'\n') {
            modinfo.get(16..n - 16).unwrap_or(&[])
        } else {
            &[]
        };
        let body = String::from_utf8_lossy(body);
        let mut info = BuildInfo::parse_modinfo(&version, &body)?;
        info.address = addr;
        info.form = form;
        Ok(info)
    }

    fn uvarint_string(&self, addr: u64) -> Result<(&'data [u8], u64)> {
        let bad =
            |reason: &str| Error::malformed("build info string", Location::Address(addr), reason);
        let rest = self.read_from(addr)?;
        let (len, n) = uvarint(rest).ok_or_else(|| bad("bad length"))?;
        if len > MAX_STRING {
            return Err(bad("string too long"));
        }
        let start = n;
        let end = start
            .checked_add(usize::try_from(len).map_err(|_| bad("string too long"))?)
            .ok_or_else(|| bad("string too long"))?;
        let s = rest
            .get(start..end)
            .ok_or_else(|| bad("string runs past its section"))?;
        Ok((s, addr.saturating_add(end as u64)))
    }

    /// Reads a Go string header {ptr, len} at `addr` and the bytes it points to.
    fn string_header(&self, enc: Encoding, addr: u64) -> Result<&'data [u8]> {
        let hdr = self.read_at(addr, 2 * u64::from(enc.ptr_size))?;
        let bad = || {
            Error::malformed(
                "build info string",
                Location::Address(addr),
                "bad string header",
            )
        };
        let ptr = enc.read_ptr(hdr, 0).ok_or_else(bad)?;
        let len = enc
            .read_ptr(hdr, usize::from(enc.ptr_size))
            .ok_or_else(bad)?;
        if len > MAX_STRING {
            return Err(bad());
        }
        self.read_at(ptr, len)
    }
}
