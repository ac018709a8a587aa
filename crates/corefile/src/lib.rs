//! `corefile`: process memory, mappings, threads and registers of an ELF core file.
#![forbid(unsafe_code)]
