//! `termwatch demo` end to end: the real binary serves its samples on
//! loopback, runs one whole pass and stops its servers.

use std::path::Path;

fn files_with(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn demo_runs_the_whole_pipeline_offline() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("demo");
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .current_dir(work.path())
        .args(["demo", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("0 failed"),
        "every sample feed collected: {stdout}"
    );

    // Every example client got a digest by email (file outbox) and webhook.
    let emls = files_with(&dir, "eml");
    assert_eq!(emls.len(), 3, "{stdout}");
    for eml in &emls {
        let text = std::fs::read_to_string(eml).unwrap();
        assert!(
            text.contains("Content-Type: text/html"),
            "{}",
            eml.display()
        );
        assert!(
            text.contains("Content-Type: text/plain"),
            "{}",
            eml.display()
        );
        assert!(text.contains("\r\nMessage-ID: <dg-"), "{}", eml.display());
    }
    let hooks = files_with(&dir.join("webhooks"), "json");
    assert_eq!(
        hooks.len(),
        3,
        "each client's webhook received and verified: {stdout}"
    );

    // The sample announcements carry the licence running to 2032; some digest cites it.
    let digests = files_with(&dir.join("digests"), "html");
    assert_eq!(digests.len(), 3);
    assert!(
        digests
            .iter()
            .any(|p| std::fs::read_to_string(p).unwrap().contains("2032")),
        "a digest cites the licence term"
    );
    assert!(stdout.contains("Open "), "{stdout}");
}

#[test]
fn demo_twice_in_the_same_directory_starts_afresh() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("demo");
    for _ in 0..2 {
        let out = assert_cmd::Command::cargo_bin("termwatch")
            .unwrap()
            .args(["demo", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    assert_eq!(
        files_with(&dir, "eml").len(),
        3,
        "no digest left over from the first run"
    );
}
