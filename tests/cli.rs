//! The `legacy` binary's answers when it cannot run: one line, non-zero, with the way out.

use std::process::Command;

fn legacy(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_legacy"))
        .args(args)
        .env_remove("DATABASE_URL")
        // The image the tests run is not the laptop's choice: let the binary make its own.
        .env_remove("KIT_POSTGRES_IMAGE")
        // A Docker socket that does not exist: as on a laptop without Docker.
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("RUST_LOG", "off")
        .output()
        .expect("the legacy binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn without_docker_and_without_a_url_names_both_ways_out() {
    let (code, stderr) = legacy(&[]);

    assert_eq!(code, 1);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert!(stderr.contains("start Docker"), "{stderr}");
}

#[test]
fn schema_tasks_ask_for_a_database_url() {
    for task in ["migrate", "seed", "customers", "orders"] {
        let (code, stderr) = legacy(&[task]);

        assert_eq!(code, 1, "{task}");
        assert!(stderr.contains("DATABASE_URL"), "{task}: {stderr}");
    }
}

#[test]
fn refuses_a_url_that_is_not_postgres() {
    let (code, stderr) = legacy(&["--database-url", "mysql://root:hunter2@db/shop", "migrate"]);

    assert_eq!(code, 2);
    assert!(stderr.contains("postgres://"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is not echoed: {stderr}"
    );
}

#[test]
fn check_without_a_url_says_where_to_point_it_and_exits_2() {
    let (code, stderr) = legacy(&["check"]);

    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn check_against_an_unreachable_database_exits_2_in_one_line() {
    // Port 1 on loopback: nothing listens there.
    let (code, stderr) = legacy(&[
        "--database-url",
        "postgres://legacy:hunter2@127.0.0.1:1/legacy",
        "check",
    ]);

    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is not echoed: {stderr}"
    );
}
