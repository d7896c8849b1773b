//! Embeds the git commit in `dasp --version` ("unknown" when built without git, e.g. from a
//! source tarball).

use std::process::Command;

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=DASP_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves (a commit, a checkout); nothing to watch without git.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for path in ["HEAD"].into_iter().chain(branch.as_deref()) {
        // (a packed ref has no file of its own: watching a missing path would rebuild always)
        if let Some(p) = git(&["rev-parse", "--git-path", path]).filter(|p| std::path::Path::new(p).exists())
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
