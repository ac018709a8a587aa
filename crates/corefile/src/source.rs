//! Opening input files: plain, or `.zst`/`.gz` compressed (decompressed to an
//! unlinked temporary file that is then memory-mapped, so inputs larger than
//! memory work).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::mmap::Map;

/// An input file, mapped into memory (or bytes handed over by the caller).
#[derive(Debug)]
pub(crate) struct Source {
    /// The path it was opened from (for bytes in memory: the name they go by).
    pub(crate) path: PathBuf,
    data: Data,
}

#[derive(Debug)]
enum Data {
    Mapped(Map),
    Owned(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Zstd,
    Gzip,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn sniff(file: &mut File, path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    // A bounded loop: at most 4 bytes, each read returns at least one or ends.
    while got < magic.len() {
        let rest = magic.get_mut(got..).unwrap_or_default();
        let n = file.read(rest).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let c = match magic {
        [0x28, 0xb5, 0x2f, 0xfd] if got == 4 => Compression::Zstd,
        [0x1f, 0x8b, ..] if got >= 2 => Compression::Gzip,
        _ => Compression::None,
    };
    Ok(c)
}

impl Source {
    /// Opens and maps `path`, decompressing it first if it is zstd or gzip
    /// data (recognised by its magic bytes, whatever its name).
    pub(crate) fn open(path: &Path) -> Result<Source> {
        let mut file = File::open(path).map_err(io_err(path))?;
        let compression = sniff(&mut file, path)?;
        let file = match compression {
            Compression::None => file,
            c => decompress(file, c, path)?,
        };
        let map = Map::new(&file, path)?;
        Ok(Source {
            path: path.to_owned(),
            data: Data::Mapped(map),
        })
    }

    /// Bytes already in memory, going by the name `path` (not opened; no
    /// decompression).
    pub(crate) fn from_vec(path: &Path, bytes: Vec<u8>) -> Source {
        Source {
            path: path.to_owned(),
            data: Data::Owned(bytes),
        }
    }

    /// The bytes handed to [`Source::from_vec`], if that is how it was made.
    pub(crate) fn into_vec(self) -> Option<Vec<u8>> {
        match self.data {
            Data::Owned(v) => Some(v),
            Data::Mapped(_) => None,
        }
    }

    /// The file's (decompressed) bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => m.bytes(),
            Data::Owned(v) => v,
        }
    }
}

#[cfg(feature = "compressed")]
fn decompress(file: File, c: Compression, path: &Path) -> Result<File> {
    use std::io::{Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let input = std::io::BufReader::new(file);
    let out = tempfile::tempfile().map_err(io_err(path))?;
    let result = match c {
        Compression::Zstd => zstd::stream::Decoder::with_buffer(input).and_then(|mut d| {
            // Accept frames written with long-distance matching (`zstd --long=31`).
            d.window_log_max(31)?;
            copy_sparse(&mut d, &out)
        }),
        Compression::Gzip => {
            let mut d = flate2::bufread::MultiGzDecoder::new(input);
            copy_sparse(&mut d, &out)
        }
        Compression::None => Ok(()),
    };
    result.map_err(|e| Error::Io {
        path: path.to_owned(),
        source: std::io::Error::new(e.kind(), format!("decompressing: {e}")),
    })?;
    Ok(out)
}

/// Copies `input` to `out`, leaving all-zero pages as holes in the file: cores can
/// hold gigabytes of zeros (gdb's `gcore` writes reserved ranges out), which then
/// cost neither disk nor write time. Reads of holes return zeros, as the data was.
#[cfg(feature = "compressed")]
fn copy_sparse(input: &mut impl Read, mut out: &File) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    const PAGE: usize = 4096;
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        let mut n = 0;
        while n < buf.len() {
            let k = input.read(buf.get_mut(n..).unwrap_or_default())?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let filled = buf.get(..n).unwrap_or_default();
        for chunk in filled.chunks(PAGE) {
            if chunk.iter().all(|&b| b == 0) {
                out.seek(SeekFrom::Current(chunk.len() as i64))?;
            } else {
                out.write_all(chunk)?;
            }
        }
        total = total.saturating_add(n as u64);
        if n < buf.len() {
            break;
        }
    }
    out.set_len(total)
}

#[cfg(not(feature = "compressed"))]
fn decompress(_file: File, c: Compression, path: &Path) -> Result<File> {
    Err(Error::Unsupported {
        path: path.to_owned(),
        what: format!(
            "{} compressed input (build corefile with the `compressed` feature)",
            if c == Compression::Zstd {
                "zstd"
            } else {
                "gzip"
            }
        ),
    })
}
