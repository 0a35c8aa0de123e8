//! The `palisade` binary: the command line over the host crates (docs/architecture.md).

mod cli;

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: the hot path allocates and frees many small strings and
/// JSON values per alert, across worker threads; measured 1.2-1.3x alerts per second end to end
/// (BENCHMARKS.md, "Allocator"). Built with `no_thp`: its heap in 2 MiB huge pages held a
/// fifth more memory at the same speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
