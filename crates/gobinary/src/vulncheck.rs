//! The vulncheck view: which `{package, symbol}` pairs a binary contains and which
//! module each package comes from — what `govulncheck -mode=binary` extracts.

use std::collections::BTreeMap;

use crate::{BuildInfo, GoBinary, Module, Result};

/// One `{package, symbol}` present in the binary.
///
/// ```
/// let s = gobinary::VulnSymbol {
///     package: "net/http".into(), symbol: "Server.Serve".into(),
///     module: "stdlib".into(), version: "go1.22.1".into(), inlined_only: false,
/// };
/// assert_eq!(s.module, "stdlib");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VulnSymbol {
    /// Module path, `"stdlib"` for the standard library, `""` when no module of the
    /// build info contains the package.
    pub module: String,
    /// Package path (unescaped).
    pub package: String,
    /// Function, or `Type.Method` for methods (pointer receivers unstarred),
    /// instantiation arguments removed.
    pub symbol: String,
    /// The module's version (the Go version for `stdlib`), `""` when unknown.
    pub version: String,
    /// Whether the symbol is present only as an inlined callee (no out-of-line copy).
    pub inlined_only: bool,
}

/// The vulncheck view of a binary (see [`GoBinary::symbols_for_vulncheck`]).
///
/// ```no_run
/// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
/// let view = bin.symbols_for_vulncheck()?;
/// for s in &view.symbols { println!("{} {} {}", s.module, s.package, s.symbol); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vulncheck {
    /// The Go version the binary was built with.
    pub go_version: String,
    /// The main module (when the build info names one).
    pub main: Option<Module>,
    /// The dependency modules.
    pub deps: Vec<Module>,
    /// Every symbol, sorted by module, package and symbol, without duplicates.
    pub symbols: Vec<VulnSymbol>,
}

/// Splits a function name into (package, symbol) as govulncheck's `parseName`
/// does (after `debug/gosym`'s `PackageName`, `ReceiverName` and `BaseName`),
/// except that generic instantiation arguments are removed from the receiver and
/// the function, so that names compare equal to the vulnerability database's.
/// `None` for compiler-generated `go:`/`type:` symbols and names with no package.
///
/// ```
/// use gobinary::vulncheck_name;
/// let s = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
/// assert_eq!(vulncheck_name("net/http.(*Server).Serve"), s("net/http", "Server.Serve"));
/// assert_eq!(vulncheck_name("main.G[go.shape.int].M"), s("main", "G.M"));
/// assert_eq!(vulncheck_name("example.com/m.F[go.shape.string]"), s("example.com/m", "F"));
/// assert_eq!(vulncheck_name("gopkg.in/yaml%2ev3.Unmarshal"), s("gopkg.in/yaml.v3", "Unmarshal"));
/// assert_eq!(vulncheck_name("type:.eq.main.T"), None);
/// ```
pub fn vulncheck_name(name: &str) -> Option<(String, String)> {
    if name.starts_with("go:") || name.starts_with("type:") {
        return None;
    }
    // nameWithoutInst: drop from the first '[' to the last ']'.
    let plain = match (name.find('['), name.rfind(']')) {
        (Some(a), Some(b)) if a < b => format!("{}{}", name.get(..a)?, name.get(b + 1..)?),
        _ => name.to_string(),
    };
    let pathend = plain.rfind('/').unwrap_or(0);
    let tail = plain.get(pathend..)?;
    let l = tail.find('.')?;
    let r = tail.rfind('.')?;
    let package = unescape(plain.get(..pathend + l)?)?;
    if package.is_empty() {
        return None;
    }
    let base = tail.get(r + 1..)?;
    let symbol = if l == r {
        base.to_string()
    } else {
        let recv = tail
            .get(l + 1..r)?
            .trim_matches(|c| matches!(c, '(' | '*' | ')'));
        format!("{recv}.{base}")
    };
    Some((package, symbol))
}

/// `url.PathUnescape` for the `%XX` escapes the linker writes in package paths.
fn unescape(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The module a package belongs to: the longest module path that is the package
/// path or a prefix of it ending at a `/`; `main` belongs to the main module;
/// otherwise packages whose first element has no dot are the standard library.
/// Returns (module path or `"stdlib"` or `""`, version).
///
/// ```
/// let info = gobinary::BuildInfo::parse_modinfo("go1.22.1",
///     "path\texample.com/cmd\nmod\texample.com/cmd\t(devel)\t\ndep\texample.com/lib\tv1.2.0\th1:x=\n").unwrap();
/// assert_eq!(gobinary::module_of(&info, "example.com/lib/sub"), ("example.com/lib".into(), "v1.2.0".into()));
/// assert_eq!(gobinary::module_of(&info, "main"), ("example.com/cmd".into(), "(devel)".into()));
/// assert_eq!(gobinary::module_of(&info, "net/http"), ("stdlib".into(), "go1.22.1".into()));
/// ```
pub fn module_of(info: &BuildInfo, package: &str) -> (String, String) {
    let mut best: Option<&Module> = None;
    for m in info.main.iter().chain(info.deps.iter()) {
        let inside = package == m.path
            || (package.starts_with(&m.path)
                && package.as_bytes().get(m.path.len()) == Some(&b'/'));
        if inside && best.is_none_or(|b| m.path.len() > b.path.len()) {
            best = Some(m);
        }
    }
    if best.is_none() && package == "main" {
        best = info.main.as_ref();
    }
    match best {
        Some(m) => (m.path.clone(), m.version.clone()),
        None if !package.split('/').next().unwrap_or("").contains('.') => {
            ("stdlib".into(), info.go_version.clone())
        }
        None => (String::new(), String::new()),
    }
}

impl GoBinary<'_> {
    /// The vulncheck view: for every function in the pclntab and every function
    /// inlined into one (from the inline trees), the package and symbol as
    /// [`vulncheck_name`] normalises them, each with its module from the build
    /// info ([`module_of`]). Works on stripped binaries (the function table and
    /// the `go:func.*` base come from the pclntab and moduledata, not symbols).
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let view = bin.symbols_for_vulncheck()?;
    /// let inlined = view.symbols.iter().filter(|s| s.inlined_only).count();
    /// # Ok(()) }
    /// ```
    pub fn symbols_for_vulncheck(&self) -> Result<Vulncheck> {
        let info = self.build_info()?;
        let tab = self.pclntab()?;
        // (package, symbol) -> present out of line
        let mut seen: BTreeMap<(String, String), bool> = BTreeMap::new();
        for func in tab.funcs() {
            let func = func?;
            if let Some(k) = vulncheck_name(func.name) {
                seen.insert(k, true);
            }
            for call in tab.inlined_calls(&func)? {
                if let Some(k) = vulncheck_name(call.name) {
                    seen.entry(k).or_insert(false);
                }
            }
        }
        let mut symbols: Vec<VulnSymbol> = seen
            .into_iter()
            .map(|((package, symbol), out_of_line)| {
                let (module, version) = module_of(&info, &package);
                VulnSymbol {
                    module,
                    package,
                    symbol,
                    version,
                    inlined_only: !out_of_line,
                }
            })
            .collect();
        symbols.sort();
        Ok(Vulncheck {
            go_version: info.go_version.clone(),
            main: info.main.clone(),
            deps: info.deps.clone(),
            symbols,
        })
    }
}
