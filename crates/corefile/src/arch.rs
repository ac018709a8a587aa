//! Target architectures and their registers.

use std::fmt;

/// Byte order of the target.
///
/// ```
/// use corefile::Endian;
/// assert_eq!(Endian::Little.read_u32([1, 0, 0, 0]), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// Decodes a `u16` in this byte order.
    ///
    /// ```
    /// assert_eq!(corefile::Endian::Big.read_u16([1, 2]), 0x0102);
    /// ```
    pub fn read_u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Decodes a `u32` in this byte order.
    ///
    /// ```
    /// assert_eq!(corefile::Endian::Little.read_u32([1, 2, 3, 4]), 0x04030201);
    /// ```
    pub fn read_u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Decodes a `u64` in this byte order.
    ///
    /// ```
    /// assert_eq!(corefile::Endian::Little.read_u64([1, 0, 0, 0, 0, 0, 0, 0]), 1);
    /// ```
    pub fn read_u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
}

/// The architecture of the process that dumped core.
///
/// ```
/// use corefile::{Arch, Endian};
/// assert_eq!(Arch::Arm64.ptr_size(), 8);
/// assert_eq!(Arch::Amd64.endian(), Endian::Little);
/// assert_eq!(Arch::Amd64.to_string(), "amd64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64 (`EM_X86_64`).
    Amd64,
    /// AArch64, little-endian (`EM_AARCH64`).
    Arm64,
}

const AMD64_REGS: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

const ARM64_REGS: [&str; 34] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "x30", "sp", "pc", "pstate",
];

impl Arch {
    /// Size of a pointer in bytes.
    ///
    /// ```
    /// assert_eq!(corefile::Arch::Amd64.ptr_size(), 8);
    /// ```
    pub fn ptr_size(self) -> u8 {
        8
    }

    /// Byte order.
    ///
    /// ```
    /// assert_eq!(corefile::Arch::Arm64.endian(), corefile::Endian::Little);
    /// ```
    pub fn endian(self) -> Endian {
        Endian::Little
    }

    /// Go's name for the architecture (`GOARCH`).
    ///
    /// ```
    /// assert_eq!(corefile::Arch::Arm64.name(), "arm64");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The general-purpose registers saved in `NT_PRSTATUS`, in the kernel's
    /// order (`user_regs_struct` / `user_pt_regs`).
    ///
    /// ```
    /// let names = corefile::Arch::Amd64.register_names();
    /// assert_eq!(names.len(), 27);
    /// assert_eq!(names[16], "rip");
    /// ```
    pub fn register_names(self) -> &'static [&'static str] {
        match self {
            Arch::Amd64 => &AMD64_REGS,
            Arch::Arm64 => &ARM64_REGS,
        }
    }

    fn index_of(self, name: &str) -> Option<usize> {
        let name = match (self, name) {
            (Arch::Amd64, "pc") => "rip",
            (Arch::Amd64, "sp") => "rsp",
            (Arch::Amd64, "fp") => "rbp",
            (Arch::Amd64, "rflags") => "eflags",
            (Arch::Arm64, "fp") => "x29",
            (Arch::Arm64, "lr") => "x30",
            (Arch::Arm64, "cpsr") => "pstate",
            (_, n) => n,
        };
        self.register_names().iter().position(|&n| n == name)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The general-purpose registers of a thread, by name.
///
/// Names are those of [`Arch::register_names`]; `pc`, `sp` and `fp` (and on
/// arm64 `lr` and `cpsr`) are accepted as aliases.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let regs = &core.threads()[0].registers;
/// println!("pc={:#x} sp={:#x}", regs.pc(), regs.sp());
/// for (name, value) in regs.iter() {
///     println!("{name:8} {value:#018x}");
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registers {
    arch: Arch,
    values: Vec<u64>,
}

impl Registers {
    /// Builds a register set from values in [`Arch::register_names`] order;
    /// missing values are zero and extra values are ignored.
    ///
    /// ```
    /// use corefile::{Arch, Registers};
    /// let regs = Registers::new(Arch::Arm64, &[1, 2, 3]);
    /// assert_eq!(regs.get("x2"), Some(3));
    /// assert_eq!(regs.pc(), 0);
    /// ```
    pub fn new(arch: Arch, values: &[u64]) -> Registers {
        let n = arch.register_names().len();
        let mut v: Vec<u64> = values.iter().copied().take(n).collect();
        v.resize(n, 0);
        Registers { arch, values: v }
    }

    /// The architecture these registers belong to.
    ///
    /// ```
    /// let regs = corefile::Registers::new(corefile::Arch::Amd64, &[]);
    /// assert_eq!(regs.arch(), corefile::Arch::Amd64);
    /// ```
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// A register by name (or alias), `None` if the name is unknown.
    ///
    /// ```
    /// let regs = corefile::Registers::new(corefile::Arch::Amd64, &[0; 27]);
    /// assert_eq!(regs.get("rbp"), Some(0));
    /// assert_eq!(regs.get("x0"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<u64> {
        self.values.get(self.arch.index_of(name)?).copied()
    }

    fn named(&self, name: &str) -> u64 {
        self.get(name).unwrap_or(0)
    }

    /// The program counter (`rip` / `pc`).
    ///
    /// ```
    /// let mut v = [0u64; 27];
    /// v[16] = 0x401000;
    /// assert_eq!(corefile::Registers::new(corefile::Arch::Amd64, &v).pc(), 0x401000);
    /// ```
    pub fn pc(&self) -> u64 {
        self.named("pc")
    }

    /// The stack pointer (`rsp` / `sp`).
    ///
    /// ```
    /// let mut v = [0u64; 34];
    /// v[31] = 0x7000;
    /// assert_eq!(corefile::Registers::new(corefile::Arch::Arm64, &v).sp(), 0x7000);
    /// ```
    pub fn sp(&self) -> u64 {
        self.named("sp")
    }

    /// The frame pointer (`rbp` / `x29`).
    ///
    /// ```
    /// let mut v = [0u64; 27];
    /// v[4] = 0x7ff0;
    /// assert_eq!(corefile::Registers::new(corefile::Arch::Amd64, &v).fp(), 0x7ff0);
    /// ```
    pub fn fp(&self) -> u64 {
        self.named("fp")
    }

    /// The link register (`x30`) on arm64; `None` on amd64.
    ///
    /// ```
    /// let regs = corefile::Registers::new(corefile::Arch::Amd64, &[]);
    /// assert_eq!(regs.lr(), None);
    /// ```
    pub fn lr(&self) -> Option<u64> {
        match self.arch {
            Arch::Arm64 => self.get("lr"),
            Arch::Amd64 => None,
        }
    }

    /// All registers as `(name, value)` in the kernel's order.
    ///
    /// ```
    /// let regs = corefile::Registers::new(corefile::Arch::Arm64, &[]);
    /// assert_eq!(regs.iter().count(), 34);
    /// assert_eq!(regs.iter().last(), Some(("pstate", 0)));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.arch
            .register_names()
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// The raw values in [`Arch::register_names`] order.
    ///
    /// ```
    /// let regs = corefile::Registers::new(corefile::Arch::Amd64, &[]);
    /// assert_eq!(regs.values().len(), 27);
    /// ```
    pub fn values(&self) -> &[u64] {
        &self.values
    }
}
