//! The CLI's exit codes, as a script reads them: 0 done, 1 refused (or the server unreachable),
//! 2 bad input — a typo is refused before anything is sent, naming the field.

use std::process::Command;

fn almo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_almo"))
        .args(args)
        .env_remove("ALMO_ADDR")
        .env_remove("ALMO_TOKEN")
        // Nothing listens here: only input that is refused before connecting can exit 2.
        .args(["--addr", "127.0.0.1:9", "--token", "t"])
        .output()
        .unwrap()
}

#[test]
fn a_financial_year_typo_exits_2_naming_the_field() {
    for typo in ["2004/06", "2004/5", "04/05", "2003/05"] {
        let out = almo(&[
            "plan",
            "amend",
            "--plan",
            "LAMBETH-LIVING-2026-2028",
            "--target",
            "LOCAL-RELET",
            "--year",
            typo,
            "--value",
            "30",
            "--effective",
            "2026-10-01",
            "--reason",
            "a typo",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{typo}: {stderr}");
        assert!(stderr.contains("year"), "{typo}: {stderr}");
    }
}

#[test]
fn an_unreachable_server_exits_1() {
    let out = almo(&[
        "plan",
        "amend",
        "--plan",
        "LAMBETH-LIVING-2026-2028",
        "--target",
        "LOCAL-RELET",
        "--year",
        "2026/27",
        "--value",
        "30",
        "--effective",
        "2026-10-01",
        "--reason",
        "the server is not there",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
