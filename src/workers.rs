//! The worker threads of the per-record phase: rayon's pool, one thread per CPU, each held to
//! its own CPU when the pool has every CPU the process may run on.
//!
//! Why pin: a worker woken while the other CPUs idle should start at once. On a virtual machine
//! whose idle vCPU the host has descheduled, Linux does not wake a thread onto that vCPU
//! (it counts as preempted, not idle): the thread waits behind the busy one until load
//! balancing moves it, a millisecond or more. A 1 MB batch of unsigned records is a few
//! milliseconds of work, so unpinned it ran on one vCPU of two: on the development machine the
//! per-record phase of such a batch went 1.23x faster on two threads than on one, pinned 1.76x
//! (`cargo bench --bench pipeline -- … --unpinned`, BENCHMARKS.md).
//!
//! A thread held to a CPU cannot move off it when something else runs there; rayon's work
//! stealing then moves its work instead. Pinning applies only when the pool has as many threads
//! as the CPUs the process may use (a Lambda's vCPUs): with fewer threads, as under a container
//! quota, the threads stay free to go to whichever CPU is idle.

/// The thread count rayon's global pool gets by default: `RAYON_NUM_THREADS` when set to a
/// positive number, otherwise the CPUs available to the process.
pub fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// A pool builder of `threads` workers, each pinned to its own CPU when `threads` is two or
/// more and equals the number of CPUs the process may run on (Linux only; elsewhere, or when
/// the CPUs cannot be read, the workers are not pinned). A failed pin leaves that worker free.
pub fn pool_builder(threads: usize) -> rayon::ThreadPoolBuilder {
    let builder = rayon::ThreadPoolBuilder::new().num_threads(threads);
    match cpus_to_pin(threads) {
        Some(cpus) => builder.start_handler(move |index| {
            if let Some(&cpu) = cpus.get(index) {
                pin_current_thread(cpu);
            }
        }),
        None => builder,
    }
}

/// Builds rayon's global pool with [`pool_builder`] and [`default_threads`]; call once, first
/// thing. An error (a pool exists already, or a thread could not be started) is the caller's
/// to report.
pub fn init_global_pool() -> Result<(), rayon::ThreadPoolBuildError> {
    pool_builder(default_threads()).build_global()
}

/// True when a pool of `threads` from [`pool_builder`] has its workers pinned.
pub fn pins(threads: usize) -> bool {
    cpus_to_pin(threads).is_some()
}

/// The CPUs the workers are pinned to, in worker order, when pinning applies.
fn cpus_to_pin(threads: usize) -> Option<Vec<usize>> {
    let cpus = allowed_cpus()?;
    (threads >= 2 && threads == cpus.len()).then_some(cpus)
}

#[cfg(target_os = "linux")]
fn allowed_cpus() -> Option<Vec<usize>> {
    use rustix::thread::{CpuSet, sched_getaffinity};
    let set = sched_getaffinity(None).ok()?;
    Some((0..CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)).collect())
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Option<Vec<usize>> {
    None
}

#[cfg(target_os = "linux")]
fn pin_current_thread(cpu: usize) {
    use rustix::thread::{CpuSet, sched_setaffinity};
    if cpu < CpuSet::MAX_CPU {
        let mut set = CpuSet::new();
        set.set(cpu);
        // Unpinned is only slower: a refused pin changes nothing else.
        let _ = sched_setaffinity(None, &set);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_current_thread(_cpu: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn pins_one_worker_to_each_cpu_when_the_pool_has_them_all() {
        let cpus = allowed_cpus().unwrap();
        if cpus.len() < 2 {
            // One CPU: nothing to pin; the rule below still holds.
            assert_eq!(cpus_to_pin(1), None);
            return;
        }
        let pool = pool_builder(cpus.len()).build().unwrap();
        // allowed_cpus reads the calling thread's CPUs: each worker's own.
        let mut seen: Vec<Option<Vec<usize>>> = pool.broadcast(|_| allowed_cpus());
        seen.sort();
        let expected: Vec<Option<Vec<usize>>> = if may_pin(cpus[0]) {
            cpus.iter().map(|&cpu| Some(vec![cpu])).collect()
        } else {
            // Where the system refuses to pin (a seccomp profile), every worker stays free.
            vec![Some(cpus.clone()); cpus.len()]
        };
        assert_eq!(seen, expected);
    }

    /// Whether this system lets a thread hold itself to `cpu` (asked on a throwaway thread).
    fn may_pin(cpu: usize) -> bool {
        use rustix::thread::{CpuSet, sched_setaffinity};
        std::thread::spawn(move || {
            let mut set = CpuSet::new();
            set.set(cpu);
            sched_setaffinity(None, &set).is_ok()
        })
        .join()
        .is_ok_and(|pinned| pinned)
    }

    #[test]
    fn leaves_workers_free_when_the_pool_has_fewer_threads_than_cpus() {
        let cpus = allowed_cpus().unwrap();
        assert_eq!(cpus_to_pin(1), None);
        if cpus.len() > 2 {
            assert_eq!(cpus_to_pin(2), None);
        }
        assert_eq!(cpus_to_pin(cpus.len() + 1), None);
        let pool = pool_builder(1).build().unwrap();
        assert_eq!(pool.install(allowed_cpus), Some(cpus));
    }
}
