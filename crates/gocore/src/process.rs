//! [`Process`]: a core dump together with what its executable says — the starting
//! point of every analysis.

use corefile::{Core, Executable};
use gobinary::{Func, GoBinary, GoVersion, Pclntab};

use crate::error::{Error, Result};
use crate::layout::Layouts;
use crate::region::Region;

/// A Go process as captured in a core: its memory, its executable's function table,
/// and the runtime layouts of the Go release that built it.
///
/// It borrows the [`Core`], so that the executable's bytes (mapped by the core) are
/// read in place.
///
/// ```no_run
/// use gocore::Process;
/// let core = corefile::Core::open("core.zst")?;
/// let proc = Process::new(&core)?;
/// println!("{}", proc.layouts().selection());
/// let allgs = proc.global("runtime.allgs", "[]*runtime.g")?;
/// println!("{} goroutines", allgs.slice_len()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Process<'a> {
    core: &'a Core,
    exe: &'a Executable,
    bin: GoBinary<'a>,
    pclntab: Option<Pclntab<'a>>,
    layouts: Layouts,
    warnings: Vec<String>,
    globals: crate::globals::Cache,
}

impl std::fmt::Debug for Process<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("core", &self.core.path())
            .field("executable", &self.exe.path())
            .field("layouts", self.layouts.selection())
            .finish_non_exhaustive()
    }
}

impl<'a> Process<'a> {
    /// Reads the executable of `core` (build info, pclntab) and chooses the runtime
    /// layouts for its Go release. Problems that leave the model usable (no pclntab)
    /// become [`Process::warnings`].
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// for w in proc.warnings() { eprintln!("warning: {w}"); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(core: &'a Core) -> Result<Process<'a>> {
        let exe = core.executable().ok_or(Error::NoExecutable)?;
        let bin = GoBinary::parse(exe.data())?;
        let layouts = Layouts::for_binary(exe.data())?;
        let mut warnings = Vec::new();
        let pclntab = match bin.pclntab() {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("no function table: {e}"));
                None
            }
        };
        Ok(Process {
            core,
            exe,
            bin,
            pclntab,
            layouts,
            warnings,
            globals: Default::default(),
        })
    }

    /// The core.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let threads = proc.core().threads().len();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn core(&self) -> &'a Core {
        self.core
    }

    /// The executable, parsed.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let goarch = proc.binary().arch().goarch();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn binary(&self) -> &GoBinary<'a> {
        &self.bin
    }

    /// Runtime layouts for this binary's Go release.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let g_size = proc.layouts().size("runtime.g")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn layouts(&self) -> &Layouts {
        &self.layouts
    }

    /// The Go version, when known.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// if let Some(v) = proc.version() { println!("{v}"); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn version(&self) -> Option<&GoVersion> {
        self.layouts.selection().version.as_ref()
    }

    /// Non-fatal problems found while loading.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// assert!(proc.warnings().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The executable's function table, if it could be read.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let n = proc.pclntab().map_or(0, |t| t.func_count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pclntab(&self) -> Option<&Pclntab<'a>> {
        self.pclntab.as_ref()
    }

    /// The difference between run-time and link-time addresses (non-zero for PIE).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let bias = proc.load_bias();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_bias(&self) -> u64 {
        self.exe.load_bias()
    }

    /// Pointer size of the target, in bytes.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// assert_eq!(proc.ptr_size(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ptr_size(&self) -> u64 {
        u64::from(self.core.arch().ptr_size())
    }

    /// The function containing a run-time PC.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let pc = core.threads()[0].registers.pc();
    /// if let Some(f) = proc.func_for_pc(pc) { println!("{}", f.name); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn func_for_pc(&self, pc: u64) -> Option<Func<'a>> {
        let tab = self.pclntab.as_ref()?;
        tab.func_for_pc(pc.wrapping_sub(self.load_bias())).ok()?
    }

    /// Run-time address of a global variable: from the symbol table, else DWARF, else
    /// a structural signature (stripped binaries); see [`Process::locate_global`].
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let mheap = proc.global_addr("runtime.mheap_")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn global_addr(&self, name: &str) -> Result<u64> {
        self.locate_global(name).map(|l| l.addr)
    }

    pub(crate) fn globals_cache(&self) -> &crate::globals::Cache {
        &self.globals
    }

    /// A global variable as a typed [`Region`]; `ty` is its Go type as DWARF spells
    /// it (`runtime.mheap`, `[]*runtime.g`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let arenas = proc.global("runtime.mheap_", "runtime.mheap")?.field("arenas")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn global(&self, name: &str, ty: &str) -> Result<Region<'_>> {
        Ok(self.region(self.global_addr(name)?, ty))
    }

    /// Memory at `addr` viewed as type `ty`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let g = proc.region(0xc000002380, "runtime.g");
    /// let goid = g.field("goid")?.uint()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn region(&self, addr: u64, ty: &str) -> Region<'_> {
        Region::new(self, addr, ty)
    }

    /// Reads a pointer-sized word.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let w = proc.read_ptr(0xc000010000)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_ptr(&self, addr: u64) -> Result<u64> {
        self.core.read_ptr(addr).map_err(|source| Error::Memory {
            what: format!("pointer at {addr:#x}"),
            source,
        })
    }
}
