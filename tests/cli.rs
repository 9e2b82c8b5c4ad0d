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

/// The `legacy` pair as a user starts it, on its own disposable Postgres: the process,
/// the container's short id (from the `Database:` line) and the orders service's address.
fn legacy_up(extra: &[&str]) -> (std::process::Child, String, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_legacy"))
        .args([
            "--customers-addr",
            "127.0.0.1:0",
            "--orders-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the legacy binary runs");
    let stdout = child.stdout.take().expect("its stdout");
    let (mut container, mut orders) = (None, None);
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line of output");
        if let Some(rest) = line.strip_prefix("Database: disposable Postgres container ") {
            container = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.trim().strip_prefix("orders     ") {
            orders = rest.strip_suffix("/orders").map(str::to_owned);
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let container = container.expect("the Database: line names the container");
    let orders = orders.expect("the orders service's address");
    (child, container, orders)
}

/// Waits for `child` to exit, polling; gives up (killing it) after two minutes.
fn exit_status(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the legacy binary did not exit within two minutes of SIGINT");
}

#[test]
fn legacy_with_a_client_holding_a_connection_exits_on_sigint_and_removes_its_container() {
    if Command::new("docker")
        .arg("info")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: Docker is not reachable here");
        return;
    }
    // A head that may take an hour: only the shutdown grace can end the connection below.
    let (mut child, container, orders) = legacy_up(&[
        "--header-read-timeout-ms",
        "3600000",
        "--shutdown-grace-ms",
        "500",
    ]);
    let mut holding =
        std::net::TcpStream::connect(orders.trim_start_matches("http://")).expect("a connection");
    std::io::Write::write_all(&mut holding, b"GET /orders/1 HTTP/1.1\r\nHost: orders\r\n")
        .expect("half a request head");

    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let status = exit_status(&mut child);

    assert!(signalled.success());
    assert!(status.success(), "{status}");
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("id={container}")])
        .output()
        .expect("docker ps runs");
    assert_eq!(
        String::from_utf8_lossy(&left.stdout).trim(),
        "",
        "container {container} is still there"
    );
}
