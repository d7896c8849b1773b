//! Soak: the handler over many consecutive invocations in one process, as a warm Lambda runs
//! them. Resident memory (VmRSS) stays flat after warm-up, the data-key cache stays within
//! DASP_KMS_CACHE_SIZE while every invocation brings new keys, and the time per invocation does
//! not drift (median CPU time of the last 50 within 1.5x of the first 50 after warm-up).
//!
//! The measurement runs in a process of its own (this test binary re-run on `soak_run` alone),
//! so that other tests running at the same time do not move its memory figures.
//! `DASP_SOAK_SCALE` sets each invocation's size in fixture copies (~100 KB each): 1 in
//! `make test`, 10 (~1 MB invocations) for `make soak`.

use crate::handler::{SuffixKeys, event, now};
use das_partitioner::config::Config;
use das_partitioner::handler::Handler;
use das_partitioner::ingest::FirehoseEvent;
use std::num::NonZeroUsize;
use std::process::Command;
use std::time::Instant;

const INVOCATIONS: usize = 200;
const WARM_UP: usize = 20;
const WINDOW: usize = 50;
const CACHE_SIZE: usize = 8;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Invocation `n`: `scale` copies of one engine's fixture, each copy under a data key of its
/// own (`blob#n-copy`, the same key to [`SuffixKeys`]), record ids made unique.
fn invocation(n: usize, scale: usize) -> FirehoseEvent<'static> {
    let engines = ["postgresql", "mysql", "oracle", "sqlserver"];
    let base = event(engines[n % engines.len()]);
    let mut ev = FirehoseEvent {
        records: Vec::new(),
        ..base.clone()
    };
    ev.invocation_id = Some(format!("soak-{n}"));
    for copy in 0..scale {
        let keyed = crate::handler::rekey(&base, |_, blob| {
            let mut blob = blob.to_vec();
            blob.extend(format!("#{n}-{copy}").bytes());
            blob
        });
        ev.records.extend(keyed.records.into_iter().map(|mut r| {
            r.record_id = format!("{}-{n}-{copy}", r.record_id).into();
            r
        }));
    }
    ev
}

/// CPU time of every thread of the process, in seconds (/proc/self/task/*/schedstat): unlike
/// wall time, not inflated by other processes competing for the cores.
fn cpu_seconds() -> f64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum::<u64>() as f64
        / 1e9
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
#[ignore = "the measurement itself; run by handler_stays_flat_over_200_invocations or make soak"]
fn soak_run() {
    let scale: usize = std::env::var("DASP_SOAK_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        kms_cache_size: NonZeroUsize::new(CACHE_SIZE).unwrap(),
        ..Config::default()
    };
    let handler = Handler::new(config, SuffixKeys::new());
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut rss = Vec::new();
    let mut bytes = 0usize;
    for n in 0..INVOCATIONS {
        let ev = invocation(n, scale);
        bytes = ev.records.iter().map(|r| r.data_len()).sum();
        let started = Instant::now();
        let cpu_before = cpu_seconds();
        let inv = rt.block_on(handler.handle(&ev, now())).unwrap();
        cpu.push(cpu_seconds() - cpu_before);
        times.push(started.elapsed().as_secs_f64());
        // The fixtures hold deliberately bad records; no record fails for its key.
        assert!(
            inv.failures().all(|(_, e)| !e.label().starts_with("k")),
            "invocation {n}: a data key was not resolved"
        );
        assert!(inv.metrics.records_ok > 0);
        drop(inv);
        drop(ev);
        rss.push(rss_kib());
        assert!(
            handler.cached_keys() <= CACHE_SIZE,
            "{} keys cached",
            handler.cached_keys()
        );
    }
    let warm = rss[WARM_UP];
    let peak_after = *rss[WARM_UP..].iter().max().unwrap();
    let first = median(&times[WARM_UP..WARM_UP + WINDOW]);
    let last = median(&times[INVOCATIONS - WINDOW..]);
    let cpu_first = median(&cpu[WARM_UP..WARM_UP + WINDOW]);
    let cpu_last = median(&cpu[INVOCATIONS - WINDOW..]);
    println!(
        "soak: {INVOCATIONS} invocations of {bytes} bytes: VmRSS {} KiB at start, {warm} KiB after warm-up, peak {peak_after} KiB after, {} KiB at the end; median time {:.1} ms (first {WINDOW} after warm-up), {:.1} ms (last {WINDOW}); median CPU time {:.1} ms, {:.1} ms; {} keys cached",
        rss[0],
        rss[INVOCATIONS - 1],
        first * 1e3,
        last * 1e3,
        cpu_first * 1e3,
        cpu_last * 1e3,
        handler.cached_keys()
    );
    // Flat: growth after warm-up below a quarter of one invocation's size plus allocator slack.
    let slack_kib = 8 * 1024 + u64::try_from(bytes / 1024 / 4).unwrap();
    assert!(
        peak_after <= warm + slack_kib,
        "VmRSS grew from {warm} KiB to {peak_after} KiB"
    );
    // CPU time: wall time also counts the other tests and builds sharing the cores.
    assert!(
        cpu_last <= cpu_first * 1.5,
        "CPU time per invocation drifted: {cpu_first:.4} s → {cpu_last:.4} s"
    );
}

#[test]
fn handler_stays_flat_over_200_invocations() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "soak::soak_run",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("DASP_SOAK_SCALE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
