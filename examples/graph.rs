//! The import graph of a Python codebase: JSON, DOT or Mermaid, cycles, and
//! the shortest import chain between two modules or packages.
//!
//! ```text
//! cargo run --release --example graph -- <ROOT> [--format json|dot|mermaid] [--depth N]
//!     [--chain FROM TO] [--cycles] [--no-external] [--cache DIR]
//! ```
//! `--chain` and `--cycles` print their answer (text) instead of the graph.
//! Exit status: 0 when it ran, 2 for a bad argument or an unreadable root.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, ValueEnum};
use pyatlas::graph::{GraphConfig, ImportGraph, Walk};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "The import graph of a Python codebase")]
struct Args {
    /// The codebase's root folder (a package folder is named from its parents).
    root: PathBuf,
    /// Output format of the graph.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Squash internal modules to this many name components.
    #[arg(long)]
    depth: Option<usize>,
    /// Print a shortest import chain from FROM to TO (modules or packages).
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"])]
    chain: Option<Vec<String>>,
    /// Print the import cycles.
    #[arg(long)]
    cycles: bool,
    /// Leave out external and standard-library packages.
    #[arg(long)]
    no_external: bool,
    /// Keep a per-file import cache in this folder (warm rebuilds).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut config = GraphConfig::default().include_external(!args.no_external);
    if let Some(dir) = &args.cache {
        config = config.cache_dir(dir);
    }
    let (mut graph, stats) = ImportGraph::build(&args.root, &config)?;
    eprintln!(
        "{} files ({} from the cache), {} modules, {} edges, {:.3} s",
        stats.files,
        stats.cached,
        graph.module_count(),
        graph.edge_count(),
        stats.seconds
    );
    if let Some(depth) = args.depth {
        graph = graph.squash(depth);
    }
    if let Some([from, to]) = args.chain.as_deref() {
        if graph.select(from).is_empty() || graph.select(to).is_empty() {
            bail!("no module or package named `{from}` or `{to}` in the graph");
        }
        match graph.shortest_chain(from, to, Walk::default()) {
            Some(chain) => {
                for hop in chain {
                    println!("{} -> {} (line {})", hop.importer, hop.imported, join(&hop.lines));
                }
            }
            None => println!("no import chain from {from} to {to}"),
        }
        return Ok(());
    }
    if args.cycles {
        let cycles = graph.cycles(Walk::default());
        println!("{} import cycle(s)", cycles.len());
        for cycle in cycles {
            println!("  {} modules, e.g. {}", cycle.modules.len(), cycle.example.join(" -> "));
        }
        return Ok(());
    }
    let output = match args.format {
        Format::Json => graph.to_json()?,
        Format::Dot => graph.to_dot(),
        Format::Mermaid => graph.to_mermaid(),
    };
    println!("{output}");
    Ok(())
}

fn join(lines: &[u32]) -> String {
    lines.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}
