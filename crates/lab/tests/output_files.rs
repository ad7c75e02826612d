//! Output files the user names go where the path says and nowhere else
//! (`lab::outfile`): a symlink is followed and stays a link (a dangling one
//! too), a FIFO is written in place and stays a FIFO, a path inside the run
//! being evaluated is refused before any work, a socket or folder is refused,
//! errors name the user's path once (never a temporary) with a fix, and a
//! sweep of one seed stores no CI (`"ci": null`, "n/a (1 seed)").
//!
//! Special paths are a FIFO, a socket and links inside a temporary folder,
//! never real `/dev` nodes; every command and FIFO reader has a timeout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::outfile::{self, Protected};

const WINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/sklearn-wine/wine_data.csv"
);

/// `dropout-lab args` in `dir`, killed (and the test failed) after `secs`.
fn dl_in(dir: &Path, args: &[&str], secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dropout-lab");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dropout-lab {args:?} did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 1 with `needles` in stderr, no panic; the message.
fn refused(o: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in: {err}");
    }
    assert!(!err.contains("panicked") && !err.contains(".tmp"), "{err}");
    err
}

/// A finished 2-epoch wine run with dropout, `root/R`.
fn trained(root: &Path) -> PathBuf {
    ok(&dl_in(
        root,
        &[
            "train",
            "--data",
            WINE,
            "--arch",
            "{in}-16-{classes}",
            "--epochs",
            "2",
            "--dropout",
            "0.3",
            "--out",
            "R",
            "--json",
        ],
        120,
    ));
    root.join("R")
}

fn eval(root: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["eval", "--run", "R", "--quiet"];
    a.extend_from_slice(extra);
    dl_in(root, &a, 120)
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().expect("mkfifo");
    assert!(st.success());
}

/// Read FIFO `p` to its end on a thread; the bytes, within `secs`.
#[cfg(unix)]
fn read_fifo(p: &Path, secs: u64) -> impl FnOnce() -> Vec<u8> {
    let (tx, rx) = mpsc::channel();
    let p = p.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read(&p).unwrap_or_default());
    });
    move || {
        rx.recv_timeout(Duration::from_secs(secs))
            .expect("nothing was written into the FIFO (was it replaced?)")
    }
}

#[test]
#[cfg(unix)]
fn per_sample_follows_links_and_writes_a_fifo_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    trained(dir);
    // A link to an existing file: the target is written, the link stays.
    std::fs::write(dir.join("target.csv"), "old").unwrap();
    std::os::unix::fs::symlink("target.csv", dir.join("link.csv")).unwrap();
    ok(&eval(dir, &["--per-sample", "link.csv"]));
    assert!(std::fs::symlink_metadata(dir.join("link.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(dir.join("target.csv")).unwrap();
    assert!(text.starts_with("arm,index,label"), "{text}");
    // A dangling link: its target is created.
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("sub/new.csv", dir.join("dangling.csv")).unwrap();
    ok(&eval(dir, &["--per-sample", "dangling.csv"]));
    assert!(std::fs::symlink_metadata(dir.join("dangling.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/new.csv")).unwrap(),
        text
    );
    // A FIFO (as /dev/stdout or a named pipe): its reader gets the lines, the node stays.
    let fifo = dir.join("pipe.csv");
    mkfifo(&fifo);
    let got = read_fifo(&fifo, 60);
    ok(&eval(dir, &["--per-sample", "pipe.csv"]));
    assert_eq!(String::from_utf8(got()).unwrap(), text);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
}

#[test]
#[cfg(unix)]
fn outputs_inside_the_evaluated_run_are_refused_before_any_work() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let run = trained(dir);
    let before: Vec<Vec<u8>> = ["model.safetensors", "metrics.jsonl", "config.json"]
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    std::os::unix::fs::symlink("R/model.safetensors", dir.join("m.csv")).unwrap();
    for (path, shown) in [
        ("R/model.safetensors", "cannot write R/model.safetensors"),
        ("R/metrics.jsonl", "cannot write R/metrics.jsonl"),
        ("./R/../R/new.csv", "cannot write ./R/../R/new.csv"),
        ("m.csv", "leads to R/model.safetensors"),
    ] {
        let err = refused(
            &eval(dir, &["--mc", "5", "--per-sample", path]),
            &[
                "--per-sample",
                shown,
                "inside the run R",
                "choose a path outside the run",
            ],
        );
        assert_eq!(err.matches(path).count(), 1, "{err}");
    }
    refused(
        &eval(dir, &["--report", "R/uq"]),
        &[
            "--report",
            "cannot write R/uq",
            "choose a path outside the run",
        ],
    );
    assert!(!run.join("uq").exists() && !run.join("new.csv").exists());
    let after: Vec<Vec<u8>> = ["model.safetensors", "metrics.jsonl", "config.json"]
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    assert!(before == after, "the run was changed");
}

#[test]
fn errors_name_the_users_path_once_and_say_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    trained(dir);
    // Formerly "nowhere/.p.csv.tmp7306: No such file or directory".
    let err = refused(
        &eval(dir, &["--per-sample", "nowhere/p.csv"]),
        &[
            "cannot write nowhere/p.csv",
            "the folder nowhere does not exist",
            "create it",
        ],
    );
    assert_eq!(err.matches("p.csv").count(), 1, "{err}");
    std::fs::create_dir(dir.join("folder")).unwrap();
    refused(
        &eval(dir, &["--per-sample", "folder"]),
        &["cannot write folder: it is a folder; name a file"],
    );
    // Formerly "File exists (os error 17)".
    std::fs::write(dir.join("rep.html"), "mine").unwrap();
    refused(
        &eval(dir, &["--report", "rep.html"]),
        &[
            "--report rep.html: is a file",
            "takes a folder, which gets index.html and report.json",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("rep.html")).unwrap(),
        "mine"
    );
    // The fix for a read-only file system (EROFS cannot be made here without root tricks).
    let e = std::io::Error::from_raw_os_error(30);
    assert!(
        outfile::os_msg(&e).ends_with("(os error 30); choose a writable path"),
        "{}",
        outfile::os_msg(&e)
    );
}

#[test]
#[cfg(unix)]
fn the_library_refuses_special_files_and_protected_inputs() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let msg = |p: &Path, prot: &[Protected]| outfile::write(p, b"x", prot).unwrap_err().to_string();
    let sock = dir.join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    assert!(
        msg(&sock, &[]).contains("it is a socket"),
        "{}",
        msg(&sock, &[])
    );
    std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
    assert!(msg(&dir.join("a"), &[]).contains("more than 40 symbolic links"));
    let data = dir.join("data.csv");
    std::fs::write(&data, "1,2\n").unwrap();
    let prot = [Protected {
        path: &data,
        what: "data",
    }];
    assert!(
        msg(&data, &prot).contains("is the data file"),
        "{}",
        msg(&data, &prot)
    );
    // A regular file is replaced whole, keeps its mode, and leaves no temporary.
    let f = dir.join("out.txt");
    std::fs::write(&f, "a much longer old content").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    outfile::write(&f, b"new", &[]).unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"new");
    let mode = std::fs::metadata(&f).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A FIFO is written in place, within a timeout.
    let fifo = dir.join("f");
    mkfifo(&fifo);
    let got = read_fifo(&fifo, 20);
    outfile::write(&fifo, b"through the pipe", &[]).unwrap();
    assert_eq!(got(), b"through the pipe");
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(names.len(), 6, "no temporaries: {names:?}");
    // A report folder that is a file.
    let e = outfile::folder(&f, "index.html", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("it is a file, not a folder"), "{e}");
}

#[test]
fn one_seed_has_no_confidence_interval() {
    let root = tempfile::tempdir().unwrap();
    let sweep = |seeds: &str, out: &str| {
        ok(&dl_in(
            root.path(),
            &[
                "sweep",
                "--grid",
                "dropout=0",
                "--seeds",
                seeds,
                "--data",
                WINE,
                "--arch",
                "{in}-16-{classes}",
                "--epochs",
                "2",
                "--val-size",
                "30",
                "--quiet",
                "--out",
                out,
            ],
            300,
        ))
    };
    let text = sweep("1", "one");
    assert!(
        text.contains("n/a (1 seed)") && !text.contains("± 0.00"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("one/results.json")).unwrap(),
    )
    .unwrap();
    for k in ["val_acc", "test_acc", "train_acc"] {
        assert!(
            doc["points"][0][k]["ci"].is_null(),
            "{k}: {}",
            doc["points"][0]
        );
        assert_eq!(doc["points"][0][k]["n"], 1);
    }
    let html = std::fs::read_to_string(root.path().join("one/index.html")).unwrap();
    assert!(html.contains("n/a (1 seed)") && !html.contains("± 0.00"));
    // Two seeds do have one.
    sweep("2", "two");
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("two/results.json")).unwrap(),
    )
    .unwrap();
    assert!(
        doc["points"][0]["val_acc"]["ci"].is_f64(),
        "{}",
        doc["points"][0]
    );
}
