//! The `cipwatch` binary: parse flags, run, map the error kind to an exit code. Nothing else.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cipwatch::cli::Cli::parse();
    let code = match cipwatch::cli::execute(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("cipwatch: {err}");
            err.exit_code()
        }
    };
    std::process::exit(code);
}
