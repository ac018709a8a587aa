//! Go release versions as found in binaries (`go1.22.10`, `go1.24.3 X:noswissmap`).

/// A Go release version, with any experiments the linker recorded.
///
/// ```
/// use gobinary::GoVersion;
/// let v = GoVersion::parse("go1.24.3 X:noswissmap,nogreenteagc").unwrap();
/// assert_eq!((v.major, v.minor, v.patch), (1, 24, 3));
/// assert_eq!(v.experiments, ["noswissmap", "nogreenteagc"]);
/// assert!(v.at_least(1, 22));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GoVersion {
    /// The full string as stored in the binary.
    pub raw: String,
    /// Major version (1).
    pub major: u32,
    /// Minor version (the release: 21 for go1.21.13).
    pub minor: u32,
    /// Patch number (0 for `go1.22` and for pre-releases).
    pub patch: u32,
    /// Pre-release suffix (`rc1`, `beta2`), if any.
    pub prerelease: Option<String>,
    /// Experiments after ` X:` (or `-X:`, as Go 1.26+ writes it).
    pub experiments: Vec<String>,
}

impl GoVersion {
    /// Parses `goMAJOR.MINOR[.PATCH|rcN|betaN][ X:exp,…]`; `None` for other strings
    /// (development builds such as `devel go1.27-abcdef …` yield their base release
    /// when it is recognizable).
    ///
    /// ```
    /// use gobinary::GoVersion;
    /// assert_eq!(GoVersion::parse("go1.26rc1").unwrap().prerelease.as_deref(), Some("rc1"));
    /// assert!(GoVersion::parse("weekly.2011-01-01").is_none());
    /// let v = GoVersion::parse("go1.26.6-X:nogreenteagc").unwrap();
    /// assert_eq!((v.minor, v.patch), (26, 6));
    /// assert_eq!(v.experiments, ["nogreenteagc"]);
    /// ```
    pub fn parse(s: &str) -> Option<GoVersion> {
        // The linker separates experiments with " X:" (through 1.25) or "-X:" (1.26+:
        // `go1.26.6-X:nogreenteagc`).
        let (base, exps) = match s.split_once(" X:").or_else(|| s.split_once("-X:")) {
            Some((b, e)) => (b, e.split(',').map(str::to_string).collect()),
            None => (s, Vec::new()),
        };
        let base = base.strip_prefix("devel ").unwrap_or(base);
        let base = base.split([' ', '-']).next()?;
        let rest = base.strip_prefix("go")?;
        let mut parts = rest.splitn(3, '.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor_s = parts.next()?;
        let digits = minor_s
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(minor_s.len());
        let minor: u32 = minor_s.get(..digits)?.parse().ok()?;
        let pre = minor_s.get(digits..).filter(|p| !p.is_empty());
        let patch = match parts.next() {
            Some(p) => p
                .get(..p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len()))?
                .parse()
                .ok()?,
            None => 0,
        };
        Some(GoVersion {
            raw: s.to_string(),
            major,
            minor,
            patch,
            prerelease: pre.map(str::to_string),
            experiments: exps,
        })
    }

    /// Whether this is release `major.minor` or later.
    ///
    /// ```
    /// let v = gobinary::GoVersion::parse("go1.21.13").unwrap();
    /// assert!(v.at_least(1, 21) && !v.at_least(1, 22));
    /// ```
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Whether the experiment `name` was recorded (`X:name`).
    ///
    /// ```
    /// let v = gobinary::GoVersion::parse("go1.22.1 X:noallocheaders").unwrap();
    /// assert!(v.has_experiment("noallocheaders"));
    /// ```
    pub fn has_experiment(&self, name: &str) -> bool {
        self.experiments.iter().any(|e| e == name)
    }
}

impl std::fmt::Display for GoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}
