//! The package's own rayon thread pool, keyed by the process id, and the one
//! place kernels run ([`run`]):
//!
//! - **Fork safety.** `fork()` copies only the calling thread, so a pool
//!   inherited from the parent has no workers in the child and a job sent to
//!   it waits forever (`os.fork()`, `multiprocessing`'s `fork` start method,
//!   PyTorch DataLoader workers). rayon's global pool cannot be replaced, so
//!   the kernels never use it: every one runs inside `install` of [`get`]'s
//!   pool, which records the pid it was built in; a call from another pid
//!   builds a new pool lazily. The inherited one is forgotten — leaked, never
//!   dropped, since dropping would signal and wait for threads that do not
//!   exist in the child.
//! - **Bounded threads.** The count is `RAYON_NUM_THREADS` (unset or 0: the
//!   CPUs available) capped at [`max_threads`] (4 per CPU, at most 256 unless
//!   there are more CPUs), with a `RuntimeWarning` when a request is lowered
//!   or not a number. If the threads cannot be started the count is halved
//!   until they can; if not even one starts, the call raises `RuntimeError`
//!   saying what to change.
//! - **No `PanicException`.** A Rust panic inside a kernel run becomes a
//!   `RuntimeError` (pyo3's `PanicException` derives from `BaseException`,
//!   which `except Exception` does not catch).

use std::any::Any;
use std::ffi::CString;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::exceptions::{PyRuntimeError, PyRuntimeWarning};
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// A pool and the process it was built in.
struct Owned {
    pid: u32,
    pool: ThreadPool,
}

/// The newest pool; set once per process (lock-free: a lock held by another
/// thread at fork time would stay locked in the child forever). Entries are
/// leaked, so a reference to one lives as long as the process.
static CURRENT: AtomicPtr<Owned> = AtomicPtr::new(std::ptr::null_mut());

/// The most threads a pool gets: 4 per CPU, at most 256 (or the CPU count
/// where that is higher).
pub(crate) fn max_threads(cpus: usize) -> usize {
    cpus.saturating_mul(4).min(256).max(cpus)
}

/// This process's pool, built on first use (and again in a forked child).
pub(crate) fn get(py: Python<'_>) -> PyResult<&'static ThreadPool> {
    let pid = std::process::id();
    let cur = CURRENT.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in CURRENT comes from Box::into_raw below and is never freed.
    if let Some(o) = unsafe { cur.as_ref() } {
        if o.pid == pid {
            return Ok(&o.pool);
        }
    }
    let (pool, note) = build()?;
    let new = Box::into_raw(Box::new(Owned { pid, pool }));
    match CURRENT.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
        // `cur` (null, or the pool of a parent process) is forgotten, never dropped.
        Ok(_) => {
            if let Some(note) = note {
                warn(py, &note)?;
            }
            // SAFETY: `new` is now in CURRENT and is never freed.
            Ok(unsafe { &(*new).pool })
        }
        Err(_) => {
            // Another thread of this process installed its pool first: use
            // that one and drop ours (its threads are alive in this process).
            // SAFETY: `new` came from Box::into_raw above and was not published.
            drop(unsafe { Box::from_raw(new) });
            get(py)
        }
    }
}

/// `f()` on this process's pool with the GIL released; a panic becomes a
/// `RuntimeError`.
pub(crate) fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let pool = get(py)?;
    py.detach(|| panic::catch_unwind(AssertUnwindSafe(|| pool.install(f))))
        .map_err(panic_err)
}

/// A pool of the wanted size, or as many threads as could be started, and
/// a note for the user when that is not what was asked for.
fn build() -> PyResult<(ThreadPool, Option<String>)> {
    let (want, mut note) = wanted();
    let mut n = want;
    loop {
        let built = ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("dropout-lab-{i}"))
            .build();
        match built {
            Ok(pool) => {
                if n < want {
                    note = Some(format!(
                        "dropout_lab could start only {n} of {want} threads; running on {n} \
                         (set RAYON_NUM_THREADS={n} or lower to silence this)"
                    ));
                }
                return Ok((pool, note));
            }
            Err(_) if n > 1 => n /= 2,
            Err(e) => {
                return Err(PyRuntimeError::new_err(format!(
                    "dropout_lab could not start a thread for its kernels ({e}); \
                     the process may be at its thread limit: raise it (ulimit -u) \
                     or run fewer threads or processes"
                )))
            }
        }
    }
}

/// The thread count from `RAYON_NUM_THREADS`, capped, and a note when the
/// request was changed.
fn wanted() -> (usize, Option<String>) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = max_threads(cpus);
    let default = cpus.min(cap);
    let Ok(s) = std::env::var("RAYON_NUM_THREADS") else {
        return (default, None);
    };
    match s.trim().parse::<usize>() {
        Ok(0) => (default, None),
        Ok(n) if n > cap => (
            cap,
            Some(format!(
                "RAYON_NUM_THREADS={n} is above dropout_lab's cap of {cap} threads \
                 (4 per CPU, at most 256; {cpus} CPUs here); using {cap}"
            )),
        ),
        Ok(n) => (n, None),
        Err(_) => (
            default,
            Some(format!(
                "RAYON_NUM_THREADS={s:?} is not a whole number; using {default} threads \
                 (the CPUs available); set it to a count such as {default}, or unset it"
            )),
        ),
    }
}

fn warn(py: Python<'_>, msg: &str) -> PyResult<()> {
    let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), &msg, 1)
}

/// A caught panic as a `RuntimeError` with the panic's message.
fn panic_err(payload: Box<dyn Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    PyRuntimeError::new_err(format!(
        "dropout_lab: internal error in a kernel ({what}); its output is not valid. \
         This is a bug: please report it with the call that caused it"
    ))
}

/// For the test suite: a panic inside a kernel run, which must surface as
/// `RuntimeError`.
#[pyfunction]
fn _panic_in_kernel(py: Python<'_>) -> PyResult<()> {
    run(py, || {
        panic!("a deliberate panic from dropout_lab's test suite")
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_panic_in_kernel, m)?)?;
    Ok(())
}
