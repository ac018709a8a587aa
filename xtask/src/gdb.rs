//! Parses gdb's text output (`info proc mappings`, `info threads`,
//! `thread apply all info registers`) into simple JSON-able structures.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, PartialEq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub size: u64,
    pub offset: u64,
    pub objfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perms: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ThreadRegs {
    /// gdb's thread number.
    pub thread: u32,
    /// The thread's LWP (kernel tid) as recorded in the core.
    pub lwp: u64,
    /// Whether gdb marks it as the current thread (the one that received the signal).
    pub current: bool,
    /// Register name → value (gdb's hex column), only registers with a value.
    pub regs: BTreeMap<String, u64>,
}

fn hex(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x")?;
    u64::from_str_radix(h, 16).ok()
}

/// Byte ranges of the whitespace-separated tokens of `line`.
fn tokens(line: &str) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                v.push((s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        v.push((s, line.len()));
    }
    v
}

fn is_perms(s: &str) -> bool {
    s.len() == 4
        && s.chars()
            .zip(["r-", "w-", "x-", "ps-"])
            .all(|(c, allowed)| allowed.contains(c))
}

/// `info proc mappings` of a core: rows after the "Start Addr  End Addr ..." header.
pub fn parse_mappings(text: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if !in_table {
            if line.contains("Start Addr") && line.contains("End Addr") {
                in_table = true;
            }
            continue;
        }
        let t = tokens(line);
        let field = |i: usize| t.get(i).map(|&(a, b)| &line[a..b]);
        let nums: Vec<Option<u64>> = (0..4).map(|i| field(i).and_then(hex)).collect();
        if nums.iter().any(|n| n.is_none()) {
            if line.trim().is_empty() || line.trim_start().starts_with("warning:") {
                continue;
            }
            break; // end of the table
        }
        let mut next = 4;
        let perms = match field(4) {
            Some(p) if is_perms(p) => {
                next = 5;
                Some(p.to_string())
            }
            _ => None,
        };
        let objfile = t.get(next).map(|&(a, _)| line[a..].trim_end().to_string());
        out.push(Mapping {
            start: nums[0].unwrap(),
            end: nums[1].unwrap(),
            size: nums[2].unwrap(),
            offset: nums[3].unwrap(),
            objfile,
            perms,
        });
    }
    out
}

/// Number after the last occurrence of `key` in `s`.
fn number_after(s: &str, key: &str) -> Option<u64> {
    let i = s.rfind(key)? + key.len();
    let digits: String = s[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn lwp_of(target: &str) -> Option<u64> {
    number_after(target, "LWP ").or_else(|| number_after(target, "process "))
}

/// `info threads`: (gdb thread number, LWP, current?).
pub fn parse_thread_list(text: &str) -> Vec<(u32, u64, bool)> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if !in_table {
            let t = line.trim_start();
            if t.starts_with("Id") && t.contains("Target Id") {
                in_table = true;
            }
            continue;
        }
        if line.trim().is_empty() || line.starts_with("Thread ") {
            break;
        }
        let t = line.trim_start();
        let current = t.starts_with('*');
        let t = t.trim_start_matches('*').trim_start();
        let num: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(id) = num.parse::<u32>() else {
            continue; // continuation line (e.g. after a warning glued into the row)
        };
        // The target id is the column after the number; the frame text follows
        // after a run of spaces.
        let rest = t[num.len()..].trim_start();
        let target = &rest[..rest.find("  ").unwrap_or(rest.len())];
        if let Some(lwp) = lwp_of(target) {
            out.push((id, lwp, current));
        }
    }
    out
}

/// Header "Thread 5 (LWP 6774):" / "Thread 2 (Thread 0x7f.. (LWP 12)):" / "Thread 1 (process 9):".
fn parse_thread_header(line: &str) -> Option<(u32, u64)> {
    let rest = line.strip_prefix("Thread ")?;
    if !line.trim_end().ends_with(':') || !rest.contains('(') {
        return None;
    }
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let id = num.parse().ok()?;
    Some((id, lwp_of(rest)?))
}

/// Register line "rip            0x484ec3            0x484ec3 <runtime.futex+35>".
fn parse_reg_line(line: &str) -> Option<(String, u64)> {
    let mut it = line.split_whitespace();
    let name = it.next()?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let v = hex(it.next()?)?;
    Some((name.to_string(), v))
}

/// `thread apply all info registers` plus `info threads` for the current marker.
pub fn parse_registers(text: &str) -> Vec<ThreadRegs> {
    let list = parse_thread_list(text);
    let mut out: Vec<ThreadRegs> = Vec::new();
    let mut pending: Option<ThreadRegs> = None;
    let flush = |p: Option<ThreadRegs>, out: &mut Vec<ThreadRegs>| {
        if let Some(p) = p {
            if !p.regs.is_empty() && !out.iter().any(|o| o.thread == p.thread) {
                out.push(p);
            }
        }
    };
    for line in text.lines() {
        if let Some((thread, lwp)) = parse_thread_header(line) {
            flush(pending.take(), &mut out);
            let current = list.iter().any(|&(id, _, cur)| id == thread && cur);
            pending = Some(ThreadRegs {
                thread,
                lwp,
                current,
                regs: BTreeMap::new(),
            });
            continue;
        }
        if line.trim().is_empty() {
            flush(pending.take(), &mut out);
            continue;
        }
        if let Some(p) = pending.as_mut() {
            if let Some((name, v)) = parse_reg_line(line) {
                p.regs.insert(name, v);
            }
        }
    }
    flush(pending.take(), &mut out);
    out.sort_by_key(|t| t.thread);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMD64: &str = "\
[New LWP 6770]
warning: Unexpected size of section `.reg-xstate/6770' in core file.
Mapped address spaces:

          Start Addr           End Addr       Size     Offset objfile
            0x400000           0x522000   0x122000        0x0 /tmp/x y/standin
            0x522000           0x668000   0x146000   0x122000 /tmp/x y/standin
  Id   Target Id         Frame 
* 1    LWP 6770          runtime.raise () at /r/sys_linux_amd64.s:154
  2    LWP 6773          warning: Unexpected size of section `.reg-xstate/6773' in core file.
runtime.futex () at /r/sys_linux_amd64.s:576

Thread 2 (LWP 6773):
rax            0xfffffffffffffe00  -512
rip            0x484ec3            0x484ec3 <runtime.futex+35>
eflags         0x286               [ PF SF IF ]
fs_base        <unavailable>

Thread 1 (LWP 6770):
rax            0x0                 0
rsp            0x3d269a317c90      0x3d269a317c90

Thread 2 (LWP 6773):
#0  runtime.futex () at /r/sys_linux_amd64.s:576

Thread 1 (LWP 6770):
#0  runtime.raise () at /r/sys_linux_amd64.s:154
";

    #[test]
    fn mappings() {
        let m = parse_mappings(AMD64);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].start, 0x522000);
        assert_eq!(m[1].offset, 0x122000);
        assert_eq!(m[0].objfile.as_deref(), Some("/tmp/x y/standin"));
    }

    #[test]
    fn mappings_with_perms() {
        let t = "Start Addr End Addr Size Offset Perms objfile\n0x1000 0x2000 0x1000 0x0 r-xp /bin/x\n0x3000 0x4000 0x1000 0x0 rw-p\n";
        let m = parse_mappings(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].perms.as_deref(), Some("r-xp"));
        assert_eq!(m[1].objfile, None);
    }

    #[test]
    fn threads_and_regs() {
        let l = parse_thread_list(AMD64);
        assert_eq!(l, vec![(1, 6770, true), (2, 6773, false)]);
        let r = parse_registers(AMD64);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].thread, 1);
        assert!(r[0].current);
        assert_eq!(r[0].regs["rsp"], 0x3d269a317c90);
        assert_eq!(r[1].lwp, 6773);
        assert_eq!(r[1].regs["rip"], 0x484ec3);
        assert_eq!(r[1].regs["eflags"], 0x286);
        assert!(!r[1].regs.contains_key("fs_base"));
    }

    #[test]
    fn header_variants() {
        assert_eq!(
            parse_thread_header("Thread 2 (Thread 0x7f12 (LWP 12)):"),
            Some((2, 12))
        );
        assert_eq!(parse_thread_header("Thread 1 (process 9):"), Some((1, 9)));
        assert_eq!(
            parse_thread_header("Thread 3 (Thread 0x7f (LWP 44) \"zoo\"):"),
            Some((3, 44))
        );
    }
}
