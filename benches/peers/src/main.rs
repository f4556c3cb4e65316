//! The peer benchmark of issue 12: one run, on loopback, of mcp-media against rmcp 3.x, the
//! official Python SDK server, the official filesystem server, nginx (HTTP ceiling) and a
//! trivial stdio ceiling server, all driven by the same client (src/client.rs). Writes a JSON
//! file and an SVG chart and prints a table of ratios. Started by ../run.sh, which installs
//! the peers; this binary also *is* two of the peers (`peers rmcp ...`, `peers ceiling ...`).
//! It knows how to start each server and what to ask it, nothing of their insides.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

mod chart;
mod client;
mod rmcp_server;

use anyhow::{Context as _, bail};
use client::{Http, Read, Stdio};
use serde::Serialize;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio as Pipe};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("rmcp") => {
            let rt = tokio::runtime::Runtime::new()?;
            // `--tools FILE`: list these tools (a `tools/list` answer) instead of its own.
            let mut args = args;
            let listed = match args.iter().position(|a| a == "--tools") {
                Some(i) if i + 1 < args.len() => {
                    let file = args.remove(i + 1);
                    args.remove(i);
                    Some(rmcp_server::listed_tools(Path::new(&file))?)
                }
                _ => None,
            };
            match (args.get(1).map(String::as_str), args.get(2), args.get(3)) {
                (Some("--stdio"), Some(root), _) => {
                    rt.block_on(rmcp_server::serve_stdio(root.into(), listed))
                }
                (Some("--listen"), Some(addr), Some(root)) => {
                    rt.block_on(rmcp_server::serve_http(root.into(), addr, listed))
                }
                _ => bail!("usage: peers rmcp --stdio ROOT | --listen ADDR ROOT [--tools FILE]"),
            }
        }
        Some("ceiling") => ceiling(args.get(1).context("usage: peers ceiling ANSWER_FILE")?),
        Some("run") => run(&args[1..]),
        _ => bail!(
            "usage: peers run [--quick] [--only a,b] --mcp-media BIN --python PY --fs-server JS --out DIR --work DIR"
        ),
    }
}

/// The stdio ceiling: answers `initialize` with a canned result, ignores notifications, and
/// answers every other line with the pre-built bytes of ANSWER_FILE, doing no other work.
fn ceiling(answer: &str) -> anyhow::Result<()> {
    let answer = std::fs::read(answer)?;
    let init = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{{\"protocolVersion\":\"{}\",\"capabilities\":{{\"resources\":{{}}}},\"serverInfo\":{{\"name\":\"ceiling\",\"version\":\"0\"}}}}}}\n",
        client::PROTOCOL
    );
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().split(b'\n') {
        let Ok(line) = line else { break };
        let text = &line[..line.len().min(200)];
        let has = |s: &[u8]| text.windows(s.len()).any(|w| w == s);
        let r = if has(b"\"initialize\"") {
            out.write_all(init.as_bytes())
        } else if has(b"notifications/") {
            continue;
        } else {
            out.write_all(&answer)
        };
        if r.and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}

struct Opts {
    quick: bool,
    only: Option<Vec<String>>,
    mcp_media: PathBuf,
    python: Option<PathBuf>,
    python_script: PathBuf,
    fs_server: Option<PathBuf>,
    out: PathBuf,
    work: PathBuf,
    me: PathBuf,
}

/// How to start one server over one transport; `{port}` in argv is replaced.
#[derive(Clone)]
struct Launch {
    argv: Vec<String>,
    /// nginx: no MCP handshake, the answer comes from a file.
    nginx: bool,
}

#[derive(Clone)]
struct Peer {
    name: &'static str,
    stdio: Option<Launch>,
    http: Option<Launch>,
    /// A read of the file named by the argument.
    read: fn(&str, &Path) -> Read,
}

#[derive(Serialize, Clone, Debug)]
struct Row {
    server: String,
    transport: String,
    case: String,
    size_mib: Option<u32>,
    conns: usize,
    requests: usize,
    secs: f64,
    mib_s: Option<f64>,
    req_s: Option<f64>,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_mib: f64,
    server_cpu_ms_per_mib: Option<f64>,
    server_cpu_us_per_req: Option<f64>,
    error: Option<String>,
}

struct Params {
    sizes: Vec<u32>,
    /// MiB read per sequential case, bounded by `case_secs`.
    seq_mib: u32,
    case_secs: f64,
    conc_size: u32,
    conc_secs: f64,
    list_secs: f64,
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let mut o = Opts {
        quick: false,
        only: None,
        mcp_media: "target/release/mcp-media".into(),
        python: None,
        python_script: "benches/peers/python_server.py".into(),
        fs_server: None,
        out: "benches/results".into(),
        work: std::env::temp_dir().join("mcp-media-peers"),
        me: std::env::current_exe()?,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--only" => o.only = Some(val()?.split(',').map(str::to_string).collect()),
            "--mcp-media" => o.mcp_media = val()?.into(),
            "--python" => o.python = Some(val()?.into()),
            "--python-script" => o.python_script = val()?.into(),
            "--fs-server" => o.fs_server = Some(val()?.into()),
            "--out" => o.out = val()?.into(),
            "--work" => o.work = val()?.into(),
            _ => bail!("unknown argument {a}"),
        }
    }
    let p = if o.quick {
        Params {
            sizes: vec![1],
            seq_mib: 8,
            case_secs: 3.0,
            conc_size: 1,
            conc_secs: 1.0,
            list_secs: 1.0,
        }
    } else {
        Params {
            sizes: vec![1, 4, 16],
            seq_mib: 192,
            case_secs: 12.0,
            conc_size: 16,
            conc_secs: 5.0,
            list_secs: 3.0,
        }
    };
    let _ = std::fs::remove_dir_all(&o.work);
    let lib = o.work.join("lib");
    std::fs::create_dir_all(&lib)?;
    std::fs::create_dir_all(o.work.join("logs"))?;
    std::fs::create_dir_all(&o.out)?;
    let mut sizes = p.sizes.clone();
    if !sizes.contains(&p.conc_size) {
        sizes.push(p.conc_size);
    }
    for &s in &sizes {
        std::fs::write(lib.join(format!("f{s}.wav")), wav((s as usize) << 20))?;
    }
    let peers = peers(&o, &lib);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    // Pre-built answers for the ceilings: exactly what mcp-media answers.
    let mut answers = std::collections::HashMap::new();
    {
        let mut s = spawn_stdio(
            &peers[0].stdio.clone().context("mcp-media")?,
            &o,
            "prebuild",
        )?;
        s.handshake()?;
        for &size in &sizes {
            let body = (peers[0].read)(&format!("f{size}.wav"), &lib).body(1);
            let v = s.call(&body)?;
            let mut bytes = serde_json::to_vec(&v)?;
            bytes.push(b'\n');
            let f = o.work.join(format!("answer{size}.json"));
            std::fs::write(&f, &bytes)?;
            answers.insert(size.to_string(), f);
        }
        let v = s.call(&client::tools_list_body(1))?;
        let f = o.work.join("answer-tools.json");
        std::fs::write(&f, serde_json::to_vec(&v)?)?;
        answers.insert("tools".into(), f);
        s.close();
    }

    // The rmcp peer lists exactly mcp-media's tools (names, descriptions, schemas), so that
    // `tools/list` answers the same bytes and the client does the same work for both.
    let mut peers = peers;
    for peer in peers.iter_mut().filter(|p| p.name == "rmcp") {
        for l in [&mut peer.stdio, &mut peer.http].into_iter().flatten() {
            l.argv.push("--tools".into());
            l.argv.push(answers["tools"].display().to_string());
        }
    }
    let mut rows: Vec<Row> = vec![];
    let started = Instant::now();
    for peer in &peers {
        if o.only
            .as_ref()
            .is_some_and(|l| !l.iter().any(|n| n == peer.name))
        {
            continue;
        }
        for &size in &p.sizes {
            let file = format!("f{size}.wav");
            let read = (peer.read)(&file, &lib);
            if let Some(l) = &peer.stdio {
                let mut l = l.clone();
                if peer.name == "ceiling" {
                    l.argv
                        .push(answers[&size.to_string()].display().to_string());
                }
                let r = stdio_reads(&l, &o, peer.name, &read, size, &p);
                report(&mut rows, peer.name, "stdio", "read", Some(size), 1, r);
            }
            if let Some(l) = &peer.http {
                let r = rt.block_on(http_case(
                    &o,
                    peer.name,
                    l,
                    &answers[&size.to_string()],
                    |port, path| {
                        http_reads(
                            port,
                            path,
                            l.nginx,
                            read.clone(),
                            size,
                            1,
                            p.seq_mib,
                            p.case_secs,
                        )
                    },
                ));
                report(&mut rows, peer.name, "http", "read", Some(size), 1, r);
            }
        }
        if let Some(l) = &peer.http {
            let size = p.conc_size;
            let read = (peer.read)(&format!("f{size}.wav"), &lib);
            let r = rt.block_on(http_case(
                &o,
                peer.name,
                l,
                &answers[&size.to_string()],
                |port, path| {
                    http_reads(
                        port,
                        path,
                        l.nginx,
                        read.clone(),
                        size,
                        8,
                        u32::MAX,
                        p.conc_secs,
                    )
                },
            ));
            report(&mut rows, peer.name, "http", "read", Some(size), 8, r);
            // Parsed: every answer parsed as JSON, as an MCP client does (on 2 cores the client
            // is then the limit). Raw: read whole, length checked, as `wrk` reads (the issue's
            // own measurement): the server's capacity.
            for (case, parse) in [("tools/list", true), ("tools/list raw", false)] {
                for conns in [1usize, 50] {
                    let r = rt.block_on(http_case(
                        &o,
                        peer.name,
                        l,
                        &answers["tools"],
                        |port, path| http_list(port, path, l.nginx, conns, p.list_secs, parse),
                    ));
                    report(&mut rows, peer.name, "http", case, None, conns, r);
                }
            }
        }
    }
    let date = String::from_utf8(
        Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d")
            .output()?
            .stdout,
    )?
    .trim()
    .to_string();
    let doc = serde_json::json!({
        "date": date,
        "mode": if o.quick { "quick" } else { "full" },
        "protocol": client::PROTOCOL,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "wall_secs": started.elapsed().as_secs_f64(),
        "rows": rows,
    });
    let stem = if o.quick { "peers-quick" } else { "peers" };
    let json = o.out.join(format!("{stem}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(&doc)?)?;
    let svg = o.out.join(format!("{stem}.svg"));
    chart::draw(
        &rows,
        &svg,
        &format!(
            "mcp-media and peers, {date} ({} mode)",
            doc["mode"].as_str().unwrap_or("")
        ),
    )?;
    print_table(&rows);
    println!("\nwrote {} and {}", json.display(), svg.display());
    Ok(())
}

fn peers(o: &Opts, lib: &Path) -> Vec<Peer> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let (libs, ours, me, limit) = (
        lib.display().to_string(),
        o.mcp_media.display().to_string(),
        o.me.display().to_string(),
        (64u64 << 20).to_string(),
    );
    let (libs, ours, me, limit) = (libs.as_str(), ours.as_str(), me.as_str(), limit.as_str());
    let resource = |f: &str, _: &Path| Read::Resource(format!("media://lib/{f}"));
    let mut v = vec![
        Peer {
            name: "mcp-media",
            stdio: Some(Launch {
                argv: s(&[ours, "serve", "--stdio", libs, "--inline-limit", limit]),
                nginx: false,
            }),
            http: Some(Launch {
                argv: s(&[
                    ours,
                    "serve",
                    "--listen",
                    "127.0.0.1:{port}",
                    libs,
                    "--inline-limit",
                    limit,
                ]),
                nginx: false,
            }),
            read: resource,
        },
        Peer {
            name: "rmcp",
            stdio: Some(Launch {
                argv: s(&[me, "rmcp", "--stdio", libs]),
                nginx: false,
            }),
            http: Some(Launch {
                argv: s(&[me, "rmcp", "--listen", "127.0.0.1:{port}", libs]),
                nginx: false,
            }),
            read: resource,
        },
        Peer {
            name: "ceiling",
            stdio: Some(Launch {
                argv: s(&[me, "ceiling"]),
                nginx: false,
            }),
            http: None,
            read: resource,
        },
        Peer {
            name: "nginx",
            stdio: None,
            http: Some(Launch {
                argv: s(&["nginx"]),
                nginx: true,
            }),
            read: resource,
        },
    ];
    if let Some(py) = &o.python {
        let py = py.display().to_string();
        let script = o.python_script.display().to_string();
        v.push(Peer {
            name: "python-sdk",
            stdio: Some(Launch {
                argv: s(&[py.as_str(), script.as_str(), libs, "stdio"]),
                nginx: false,
            }),
            http: Some(Launch {
                argv: s(&[py.as_str(), script.as_str(), libs, "http", "{port}"]),
                nginx: false,
            }),
            read: |f, _| Read::Tool {
                name: "read_file".into(),
                args: serde_json::json!({"path": f}),
            },
        });
    }
    if let Some(fs) = &o.fs_server {
        let fs = fs.display().to_string();
        v.push(Peer {
            name: "server-filesystem",
            stdio: Some(Launch {
                argv: s(&["node", fs.as_str(), libs]),
                nginx: false,
            }),
            http: None,
            read: |f, lib| Read::Tool {
                name: "read_media_file".into(),
                args: serde_json::json!({"path": lib.join(f).display().to_string()}),
            },
        });
    }
    v
}

fn log_file(o: &Opts, name: &str, what: &str) -> Pipe {
    std::fs::File::create(o.work.join("logs").join(format!("{name}-{what}.log")))
        .map_or(Pipe::null(), Pipe::from)
}

fn spawn_stdio(l: &Launch, o: &Opts, name: &str) -> anyhow::Result<Stdio> {
    let child = Command::new(&l.argv[0])
        .args(&l.argv[1..])
        .stdin(Pipe::piped())
        .stdout(Pipe::piped())
        .stderr(log_file(o, name, "stdio"))
        .spawn()
        .with_context(|| format!("spawn {:?}", l.argv))?;
    Stdio::new(child)
}

struct Measured {
    requests: usize,
    bytes: u64,
    secs: f64,
    lat: Vec<Duration>,
}

struct Outcome {
    m: Measured,
    rss_mib: f64,
    cpu_secs: f64,
}

fn stdio_reads(
    l: &Launch,
    o: &Opts,
    name: &str,
    read: &Read,
    size: u32,
    p: &Params,
) -> anyhow::Result<Outcome> {
    let mut s = spawn_stdio(l, o, name)?;
    let pid = s.child.id();
    s.handshake()?;
    let body = read.body(1);
    let want = (size as usize) << 20;
    // One warm-up read, not counted.
    let got = client::decode(&s.call(&body)?)?.len();
    if got != want {
        bail!("read {got} bytes, want {want}");
    }
    let n = (p.seq_mib / size).max(3) as usize;
    let (_, cpu0) = proc_facts(pid);
    let t = Instant::now();
    let mut lat = vec![];
    while lat.len() < n && (lat.len() < 3 || t.elapsed().as_secs_f64() < p.case_secs) {
        let t1 = Instant::now();
        let data = client::decode(&s.call(&body)?)?;
        lat.push(t1.elapsed());
        if data.len() != want {
            bail!("read {} bytes, want {want}", data.len());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let (rss_mib, cpu1) = proc_facts(pid);
    s.close();
    Ok(Outcome {
        m: Measured {
            requests: lat.len(),
            bytes: (lat.len() * want) as u64,
            secs,
            lat,
        },
        rss_mib,
        cpu_secs: cpu1 - cpu0,
    })
}

/// Starts an HTTP server (a fresh process per case, so its peak RSS is the case's), runs `f`
/// against it, stops it.
async fn http_case<F, Fut>(
    o: &Opts,
    name: &str,
    l: &Launch,
    answer: &Path,
    f: F,
) -> anyhow::Result<Outcome>
where
    F: FnOnce(u16, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Measured>>,
{
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = if l.nginx {
        nginx(o, port, answer)?
    } else {
        let argv: Vec<String> = l
            .argv
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Pipe::null())
            .stdout(Pipe::null())
            .stderr(log_file(o, name, &format!("http-{port}")))
            .spawn()
            .with_context(|| format!("spawn {argv:?}"))?
    };
    let pid = child.id();
    let r = async {
        let t = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if t.elapsed() > Duration::from_secs(60) || child.try_wait()?.is_some() {
                bail!("{name} did not listen on {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, cpu0) = proc_facts(pid);
        let m = f(port, "/mcp".to_string()).await?;
        let (rss_mib, cpu1) = proc_facts(pid);
        anyhow::Ok(Outcome {
            m,
            rss_mib,
            cpu_secs: cpu1 - cpu0,
        })
    }
    .await;
    // SIGTERM (nginx's workers leave with their master), then SIGKILL after 5 s.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let t = Instant::now();
    while child.try_wait()?.is_none() {
        if t.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r
}

/// nginx in the foreground serving `answer` as the body of any POST to /mcp.
fn nginx(o: &Opts, port: u16, answer: &Path) -> anyhow::Result<Child> {
    let dir = o.work.join(format!("nginx-{port}"));
    std::fs::create_dir_all(dir.join("www"))?;
    std::fs::create_dir_all(dir.join("tmp"))?;
    std::fs::copy(answer, dir.join("www/mcp"))?;
    let d = dir.display();
    let conf = format!(
        "worker_processes auto;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n sendfile on;\n tcp_nopush on;\n tcp_nodelay on;\n\
          keepalive_requests 10000000;\n client_body_temp_path {d}/tmp;\n proxy_temp_path {d}/tmp;\n\
          fastcgi_temp_path {d}/tmp;\n uwsgi_temp_path {d}/tmp;\n scgi_temp_path {d}/tmp;\n\
          server {{\n  listen 127.0.0.1:{port};\n  root {d}/www;\n\
           location = /mcp {{ default_type application/json; error_page 405 =200 $uri; }}\n }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Pipe::null())
        .stdout(Pipe::null())
        .stderr(log_file(o, "nginx", &port.to_string()))
        .spawn()
        .context("spawn nginx (apt-get install nginx)")
}

/// `conns` clients, each on its own keep-alive connection and session, reading the file
/// again and again until `max_mib` each or `secs` (at least 3 reads in all).
#[allow(clippy::too_many_arguments)]
async fn http_reads(
    port: u16,
    path: String,
    nginx: bool,
    read: Read,
    size: u32,
    conns: usize,
    max_mib: u32,
    secs: f64,
) -> anyhow::Result<Measured> {
    let want = (size as usize) << 20;
    let mut clients = vec![];
    for _ in 0..conns {
        let mut c = Http::connect(port, &path).await?;
        if !nginx {
            c.handshake().await?;
        }
        // Warm-up, not counted.
        let got = client::decode(&c.call(read.body(1)).await?)?.len();
        if got != want {
            bail!("read {got} bytes, want {want}");
        }
        clients.push(c);
    }
    let n_max = (max_mib / size).max(3) as usize;
    let t = Instant::now();
    let mut tasks = vec![];
    for mut c in clients {
        let read = read.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let mut id = 2;
            while lat.len() < n_max && (lat.len() < 3 || t.elapsed().as_secs_f64() < secs) {
                let t1 = Instant::now();
                let answer = c.call(read.body(id)).await?;
                // Decoding is CPU work: off the I/O threads, like a real client would.
                let data = tokio::task::spawn_blocking(move || client::decode(&answer)).await??;
                lat.push(t1.elapsed());
                if data.len() != want {
                    bail!("read {} bytes, want {want}", data.len());
                }
                id += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = vec![];
    for task in tasks {
        lat.extend(task.await??);
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(Measured {
        requests: lat.len(),
        bytes: (lat.len() * want) as u64,
        secs,
        lat,
    })
}

/// `tools/list` on `conns` keep-alive connections (one session each) for `secs`.
async fn http_list(
    port: u16,
    path: String,
    nginx: bool,
    conns: usize,
    secs: f64,
    parse: bool,
) -> anyhow::Result<Measured> {
    let mut clients = vec![];
    for _ in 0..conns {
        let mut c = Http::connect(port, &path).await?;
        if !nginx {
            c.handshake().await?;
        }
        let v = c.call(client::tools_list_body(1)).await?;
        if v["result"]["tools"].as_array().is_none_or(Vec::is_empty) {
            bail!("no tools in {v}");
        }
        // The whole body's length, to check raw answers against (ids differ by a few digits).
        let len = c.call_raw(client::tools_list_body(1)).await?.len();
        clients.push((c, len));
    }
    let t = Instant::now();
    let mut tasks = vec![];
    for (mut c, len) in clients {
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let mut id = 2u64;
            while t.elapsed().as_secs_f64() < secs {
                let t1 = Instant::now();
                if parse {
                    let v = c.call(client::tools_list_body(id)).await?;
                    lat.push(t1.elapsed());
                    if v.get("result").is_none() {
                        bail!("tools/list failed: {v}");
                    }
                } else {
                    let b = c.call_raw(client::tools_list_body(id)).await?;
                    lat.push(t1.elapsed());
                    if b.len().abs_diff(len) > 16 {
                        bail!("tools/list answered {} bytes, not about {len}", b.len());
                    }
                }
                id += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = vec![];
    for task in tasks {
        lat.extend(task.await??);
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(Measured {
        requests: lat.len(),
        bytes: 0,
        secs,
        lat,
    })
}

fn report(
    rows: &mut Vec<Row>,
    server: &str,
    transport: &str,
    case: &str,
    size: Option<u32>,
    conns: usize,
    r: anyhow::Result<Outcome>,
) {
    let mut row = Row {
        server: server.into(),
        transport: transport.into(),
        case: case.into(),
        size_mib: size,
        conns,
        requests: 0,
        secs: 0.0,
        mib_s: None,
        req_s: None,
        p50_ms: 0.0,
        p99_ms: 0.0,
        peak_rss_mib: 0.0,
        server_cpu_ms_per_mib: None,
        server_cpu_us_per_req: None,
        error: None,
    };
    match r {
        Ok(Outcome {
            mut m,
            rss_mib,
            cpu_secs,
        }) => {
            m.lat.sort();
            let pct = |q: f64| {
                m.lat
                    .get(((m.lat.len() as f64 - 1.0) * q).round() as usize)
                    .map_or(0.0, |d| d.as_secs_f64() * 1e3)
            };
            row.requests = m.requests;
            row.secs = m.secs;
            row.p50_ms = pct(0.5);
            row.p99_ms = pct(0.99);
            row.peak_rss_mib = rss_mib;
            let mib = m.bytes as f64 / f64::from(1u32 << 20);
            if m.bytes > 0 {
                row.mib_s = Some(mib / m.secs);
                row.server_cpu_ms_per_mib = Some(cpu_secs * 1e3 / mib);
            } else {
                row.req_s = Some(m.requests as f64 / m.secs);
                row.server_cpu_us_per_req = Some(cpu_secs * 1e6 / m.requests.max(1) as f64);
            }
        }
        Err(e) => row.error = Some(format!("{e:#}")),
    }
    eprintln!(
        "{server:>18} {transport:>5} {case:<10} {:>3} MiB x{conns:<2} {}",
        size.unwrap_or(0),
        match (&row.error, row.mib_s, row.req_s) {
            (Some(e), _, _) => format!("ERROR {e}"),
            (_, Some(v), _) => format!(
                "{v:.0} MiB/s p50 {:.2} ms RSS {:.0} MiB",
                row.p50_ms, row.peak_rss_mib
            ),
            (_, _, Some(v)) => format!(
                "{v:.0} req/s p50 {:.3} ms RSS {:.0} MiB",
                row.p50_ms, row.peak_rss_mib
            ),
            _ => String::new(),
        }
    );
    rows.push(row);
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<28} {:<18} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "case", "server", "value", "p50 ms", "p99 ms", "RSS MiB", "cpu", "/ceiling", "/rmcp"
    );
    let key = |r: &Row| (r.transport.clone(), r.case.clone(), r.size_mib, r.conns);
    let mut keys: Vec<_> = rows.iter().map(key).collect();
    keys.dedup();
    let mut seen = vec![];
    for k in keys {
        if seen.contains(&k) {
            continue;
        }
        seen.push(k.clone());
        let group: Vec<&Row> = rows.iter().filter(|r| key(r) == k).collect();
        let val = |r: &Row| r.mib_s.or(r.req_s);
        let of = |n: &str| group.iter().find(|r| r.server == n).and_then(|r| val(r));
        let top = if k.0 == "stdio" {
            of("ceiling")
        } else {
            of("nginx")
        };
        let rmcp = of("rmcp");
        let label = format!(
            "{} {} {}x{}",
            k.0,
            k.1,
            k.2.map_or(String::new(), |s| format!("{s}MiB ")),
            k.3
        );
        for r in group {
            let ratio = |b: Option<f64>| match (val(r), b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            match (&r.error, val(r)) {
                (None, Some(v)) => println!(
                    "{label:<28} {:<18} {:>10.0} {:>9.3} {:>9.3} {:>8.0} {:>8.3} {:>8} {:>8}",
                    r.server,
                    v,
                    r.p50_ms,
                    r.p99_ms,
                    r.peak_rss_mib,
                    r.server_cpu_ms_per_mib
                        .or(r.server_cpu_us_per_req)
                        .unwrap_or(0.0),
                    ratio(top),
                    ratio(rmcp)
                ),
                (e, _) => println!(
                    "{label:<28} {:<18} error: {}",
                    r.server,
                    e.as_deref().unwrap_or("?")
                ),
            }
        }
    }
    println!(
        "value: MiB/s of file data (reads) or requests/s (tools/list); cpu: server ms/MiB or us/request;"
    );
    println!(
        "/ceiling: against the stdio ceiling server (stdio) or nginx (http); RSS: server VmHWM (nginx: master + workers)"
    );
}

/// /proc facts of a process and its direct children (nginx's workers): (peak RSS MiB, CPU s).
fn proc_facts(pid: u32) -> (f64, f64) {
    let mut pids = vec![pid];
    if let Ok(d) = std::fs::read_dir("/proc") {
        for e in d.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            if rest
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u32>().ok())
                == Some(pid)
            {
                pids.push(p);
            }
        }
    }
    let (mut rss, mut cpu) = (0.0, 0.0);
    for p in pids {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        rss += status
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0;
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        cpu += (ticks(11) + ticks(12)) / 100.0; // USER_HZ
    }
    (rss, cpu)
}

/// A 16-bit stereo 48 kHz WAV of `size` bytes in all, its samples noise (mcp-media serves
/// only files it recognises as media).
fn wav(size: usize) -> Vec<u8> {
    let data_len = (size - 44) as u32;
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&48_000u32.to_le_bytes());
    v.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    let mut x: u32 = 7;
    v.extend((0..data_len).map(|_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    }));
    v
}
