//! `zkr status`: one screen about a running node or fleet, from its roles' `/metrics` (Prometheus text format) and,
//! optionally, the rollup contract on L1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use zkr_settle::admin::{human_duration, RollupStatus};
use zkr_settle::{Address, PrivateKeySigner, RpcL1};

/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest metrics answer read: a role's page is tens of kilobytes; anything past this is refused, not held in
/// memory.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A role's metrics listener: http://HOST:PORT (the path defaults to /metrics). Repeat it for every role of a
    /// fleet (sequencer, coordinator, workers); a devnet serves everything on one (`--metrics ADDR`).
    #[arg(long = "metrics-url", value_name = "URL")]
    pub metrics_urls: Vec<String>,
    /// Also read the rollup contract on L1 (needs --rollup): the chain's JSON-RPC endpoint.
    #[arg(long, requires = "rollup")]
    pub rpc_url: Option<String>,
    /// The rollup contract's address (with --rpc-url).
    #[arg(long, requires = "rpc_url")]
    pub rollup: Option<Address>,
    /// First block to read the rollup's logs from (its deploy block), with --rpc-url.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// One sample of a metrics page: a series' name, its labels and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format: comments and blank lines are skipped, a line that does not parse
/// is an error naming it.
pub fn parse_metrics(text: &str) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line).with_context(|| format!("line {}: {line:?} is not a metric sample", n + 1))?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Sample> {
    let name_end = line.find(['{', ' ', '\t']).context("no value")?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            body = body.trim_start_matches([',', ' ']);
            if let Some(after) = body.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = body.find('=').context("a label without '=' (or unterminated labels)")?;
            let key = body[..eq].trim().to_string();
            let quoted = body[eq + 1..].strip_prefix('"').context("a label value without quotes")?;
            let mut value = String::new();
            let mut escaped = false;
            let mut close = None;
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, 'n') => {
                        value.push('\n');
                        escaped = false;
                    }
                    (true, c) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        close = Some(i);
                        break;
                    }
                    (false, c) => value.push(c),
                }
            }
            let close = close.context("an unterminated label value")?;
            labels.insert(key, value);
            body = &quoted[close + 1..];
        }
    }
    let value = rest.split_whitespace().next().context("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().with_context(|| format!("{v:?} is not a number"))?,
    };
    Ok(Sample { name, labels, value })
}

/// `GET` over plain HTTP/1.0 with a timeout: the body of a 200 answer of at most `limit` bytes.
fn http_get(url: &str, limit: u64) -> Result<String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    if rest.contains("://") {
        bail!("only http:// metrics URLs are supported");
    }
    let (hostport, path) = match rest.find('/') {
        Some(i) if &rest[i..] != "/" => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], "/metrics"),
        None => (rest, "/metrics"),
    };
    let addr = hostport
        .to_socket_addrs()
        .with_context(|| format!("{hostport} is not HOST:PORT"))?
        .next()
        .with_context(|| format!("{hostport} resolves to no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, SCRAPE_TIMEOUT).context("connecting")?;
    s.set_read_timeout(Some(SCRAPE_TIMEOUT)).context("setting a timeout")?;
    s.set_write_timeout(Some(SCRAPE_TIMEOUT)).context("setting a timeout")?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").as_bytes()).context("sending")?;
    let mut raw = Vec::new();
    s.take(limit.saturating_add(1)).read_to_end(&mut raw).context("reading the answer")?;
    if raw.len() as u64 > limit {
        bail!("the answer is larger than {limit} bytes");
    }
    let text = String::from_utf8(raw).context("the answer is not UTF-8")?;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP answer")?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("answered {status:?}");
    }
    Ok(body.to_string())
}

/// One scraped source: its URL and its samples, or why it did not answer.
#[derive(Debug)]
pub struct Source {
    pub url: String,
    pub samples: Result<Vec<Sample>, String>,
}

impl Source {
    pub fn scrape(url: &str) -> Source {
        let samples = http_get(url, MAX_ANSWER_BYTES).and_then(|t| parse_metrics(&t)).map_err(|e| format!("{e:#}"));
        Source { url: url.to_string(), samples }
    }

    fn roles(&self) -> Vec<String> {
        match &self.samples {
            Ok(s) => s
                .iter()
                .filter(|x| x.name == "zkr_up" && x.value == 1.0)
                .filter_map(|x| x.labels.get("role").cloned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// What every answering source says, aggregated: the largest value of each metric (every role exporting one reads
/// the same thing; several coordinators would not share a queue).
#[derive(Debug, Default)]
pub struct Summary {
    samples: Vec<Sample>,
}

impl Summary {
    pub fn of(sources: &[Source]) -> Summary {
        let samples = sources.iter().filter_map(|s| s.samples.as_ref().ok()).flatten().cloned().collect();
        Summary { samples }
    }

    /// The largest value of `name` among series with these labels.
    pub fn max(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
            .map(|s| s.value)
            .reduce(f64::max)
    }

    /// Sum over the values of `label` of the largest value per full label set (so a series two sources export is
    /// counted once).
    fn sum_by(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut per_series: BTreeMap<Vec<(String, String)>, f64> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.name == name) {
            let key: Vec<(String, String)> = s.labels.clone().into_iter().collect();
            let v = per_series.entry(key).or_insert(f64::MIN);
            *v = v.max(s.value);
        }
        let mut out = BTreeMap::new();
        for (labels, v) in per_series {
            if let Some((_, value)) = labels.iter().find(|(k, _)| k == label) {
                *out.entry(value.clone()).or_insert(0.0) += v;
            }
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let opt = |name: &str| self.max(name, &[]);
        let lag: BTreeMap<&str, Option<f64>> = ["proven", "aggregated", "finalized"]
            .into_iter()
            .map(|s| (s, self.max("zkr_finality_lag_seconds", &[("stage", s)])))
            .collect();
        let seen = match (opt("zkr_remote_workers"), opt("zkr_active_workers")) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        json!({
            "heights": {
                "sealed_batches": opt("zkr_sequencer_batches_sealed_total"),
                "proven_batches": opt("zkr_sequencer_proven_batches"),
                "aggregated_epochs": opt("zkr_epochs_verified"),
                "finalized_epochs": opt("zkr_epochs_finalized"),
                "epochs_awaiting_settlement": opt("zkr_epochs_awaiting_settlement"),
            },
            "finality_lag_seconds": lag,
            "queue_depth": self.sum_by("zkr_queue_depth", "state"),
            "workers": { "seen": seen, "wanted": opt("zkr_workers_wanted") },
            "open_batch_txs": opt("zkr_sequencer_open_batch_txs"),
            "mempool_txs": opt("zkr_sequencer_mempool_size"),
            "priority_queue": {
                "length": opt("zkr_bridge_priority_queue_length"),
                "oldest_expires_in_s": self.samples.iter()
                    .filter(|s| s.name == "zkr_bridge_oldest_priority_op_expiry_seconds")
                    .map(|s| s.value).reduce(f64::min),
            },
            "paused": opt("zkr_rollup_paused").map(|v| v == 1.0),
            "exit_mode": opt("zkr_rollup_exit_mode").map(|v| v == 1.0),
        })
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => format!("{v:.1}"),
        None => "-".to_string(),
    }
}

fn secs(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v >= 0.0 => human_duration(v as u64),
        Some(v) => format!("{v}"),
        None => "-".to_string(),
    }
}

/// The screen for a person.
pub fn describe(sources: &[Source], m: &Summary, l1: Option<&Result<RollupStatus, String>>) -> String {
    let mut out = String::new();
    for s in sources {
        match &s.samples {
            Ok(_) => {
                let roles = s.roles();
                let roles = if roles.is_empty() { "no zkr_up".to_string() } else { roles.join(", ") };
                out.push_str(&format!("{:<32} up ({roles})\n", s.url));
            }
            Err(e) => out.push_str(&format!("{:<32} DOWN: {e}\n", s.url)),
        }
    }
    if !sources.is_empty() {
        let o = |n: &str| m.max(n, &[]);
        out.push_str(&format!(
            "heights: sealed {} batches, proven {} batches, aggregated {} epochs, finalized {} epochs ({} awaiting \
             settlement)\n",
            num(o("zkr_sequencer_batches_sealed_total")),
            num(o("zkr_sequencer_proven_batches")),
            num(o("zkr_epochs_verified")),
            num(o("zkr_epochs_finalized")),
            num(o("zkr_epochs_awaiting_settlement")),
        ));
        let lag = |stage: &str| secs(m.max("zkr_finality_lag_seconds", &[("stage", stage)]));
        out.push_str(&format!(
            "finality lag (oldest transaction not yet …): proven {}, aggregated {}, finalized {}\n",
            lag("proven"),
            lag("aggregated"),
            lag("finalized")
        ));
        out.push_str(&format!(
            "sequencer: {} in the open batch, {} waiting for a nonce gap\n",
            num(o("zkr_sequencer_open_batch_txs")),
            num(o("zkr_sequencer_mempool_size"))
        ));
        let depth = m.sum_by("zkr_queue_depth", "state");
        let depth_text = if depth.is_empty() {
            "-".to_string()
        } else {
            ["waiting", "queued", "leased", "done", "dead"]
                .iter()
                .map(|st| format!("{st} {}", num(depth.get(*st).copied())))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("queue: {depth_text}\n"));
        let seen = match (o("zkr_remote_workers"), o("zkr_active_workers")) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        out.push_str(&format!("workers: {} seen, {} wanted\n", num(seen), num(o("zkr_workers_wanted"))));
        let expiry = m
            .samples
            .iter()
            .filter(|s| s.name == "zkr_bridge_oldest_priority_op_expiry_seconds")
            .map(|s| s.value)
            .reduce(f64::min);
        let expiry_text = match expiry {
            Some(v) if v < 0.0 => format!(", the oldest EXPIRED {} ago", human_duration((-v) as u64)),
            Some(v) => format!(", the oldest expires in {}", human_duration(v as u64)),
            None => String::new(),
        };
        out.push_str(&format!("priority queue: {} waiting{expiry_text}\n", num(o("zkr_bridge_priority_queue_length"))));
        let flag = |n: &str, yes: &str| match o(n) {
            Some(v) if v > 0.0 => yes.to_string(),
            Some(_) => "no".to_string(),
            None => "-".to_string(),
        };
        out.push_str(&format!(
            "paused: {}, exit mode: {}\n",
            flag("zkr_rollup_paused", "PAUSED"),
            flag("zkr_rollup_exit_mode", "ACTIVE")
        ));
    }
    match l1 {
        Some(Ok(s)) => {
            out.push_str("-- L1\n");
            out.push_str(&crate::l1::describe_status(s));
        }
        Some(Err(e)) => out.push_str(&format!("-- L1: not read: {e}\n")),
        None => {}
    }
    out
}

pub fn run(args: StatusArgs) -> Result<()> {
    if args.metrics_urls.is_empty() && args.rpc_url.is_none() {
        bail!("name what to read: --metrics-url URL (repeat it for each role), and/or --rpc-url URL --rollup ADDR");
    }
    let sources: Vec<Source> = args.metrics_urls.iter().map(String::as_str).map(Source::scrape).collect();
    let summary = Summary::of(&sources);
    let l1 = match (&args.rpc_url, args.rollup) {
        (Some(url), Some(rollup)) => {
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            Some(rt.block_on(async {
                let l1 = RpcL1::connect_with_signer(url, PrivateKeySigner::random())
                    .await
                    .map_err(|e| format!("connecting to {url}: {e}"))?;
                RollupStatus::read(&l1, rollup, args.from_block)
                    .await
                    .map_err(|e| format!("reading the rollup at {rollup}: {e}"))
            }))
        }
        _ => None,
    };
    if args.json {
        let out = json!({
            "sources": sources.iter().map(|s| json!({
                "url": s.url,
                "up": s.samples.is_ok(),
                "roles": s.roles(),
                "error": s.samples.as_ref().err(),
            })).collect::<Vec<_>>(),
            "metrics": if sources.is_empty() { Value::Null } else { summary.to_json() },
            "l1": match &l1 {
                Some(Ok(s)) => s.to_json(),
                Some(Err(e)) => json!({ "error": e }),
                None => Value::Null,
            },
        });
        println!("{out}");
    } else {
        print!("{}", describe(&sources, &summary, l1.as_ref()));
    }
    let down: Vec<&str> = sources.iter().filter(|s| s.samples.is_err()).map(|s| s.url.as_str()).collect();
    if !down.is_empty() {
        bail!("{} of {} metrics sources did not answer: {}", down.len(), sources.len(), down.join(", "));
    }
    if let Some(Err(e)) = l1 {
        bail!("L1 was not read: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_parses() {
        let text =
            "# HELP x y\n# TYPE x gauge\nzkr_up{role=\"sequencer\"} 1\nzkr_queue_depth{kind=\"wrap\",state=\"dead\"} \
                    2\nplain 3.5\nwith_ts{a=\"q\\\"x,y\"} +Inf 1700000000\n";
        let s = parse_metrics(text).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].labels.get("role").map(String::as_str), Some("sequencer"));
        assert_eq!((s[1].labels.len(), s[1].value), (2, 2.0));
        assert_eq!((s[2].name.as_str(), s[2].value), ("plain", 3.5));
        assert_eq!(s[3].labels.get("a").map(String::as_str), Some("q\"x,y"));
        assert!(s[3].value.is_infinite());
        assert!(parse_metrics("broken{a=1} 2").is_err());
        assert!(parse_metrics("novalue").is_err());
    }

    /// Serves one connection on a free port with `answer` (after reading the request); the port.
    fn serve_once(answer: Vec<u8>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let _ = conn.read(&mut [0u8; 1024]);
                // the client may hang up before reading it all
                let _ = conn.write_all(&answer);
            }
        });
        port
    }

    #[test]
    fn an_oversized_answer_is_refused() {
        let page = |body: &str| format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}").into_bytes();
        let port = serve_once(page("zkr_up{role=\"sequencer\"} 1\n"));
        let body = http_get(&format!("http://127.0.0.1:{port}"), 1024).unwrap();
        assert_eq!(parse_metrics(&body).unwrap().len(), 1);

        let port = serve_once(page(&"x 1\n".repeat(100_000)));
        let e = http_get(&format!("127.0.0.1:{port}/metrics"), 1024).unwrap_err();
        assert_eq!(e.to_string(), "the answer is larger than 1024 bytes");
    }

    #[test]
    fn a_series_two_sources_export_counts_once() {
        let a = parse_metrics(concat!(
            "zkr_queue_depth{kind=\"wrap\",state=\"queued\"} 2\n",
            "zkr_queue_depth{kind=\"aggregate\",state=\"queued\"} 1\n",
        ))
        .unwrap();
        let b = parse_metrics("zkr_queue_depth{kind=\"wrap\",state=\"queued\"} 2\n").unwrap();
        let src = |s| Source { url: String::new(), samples: Ok(s) };
        let m = Summary::of(&[src(a), src(b)]);
        assert_eq!(m.sum_by("zkr_queue_depth", "state").get("queued"), Some(&3.0));
    }
}
