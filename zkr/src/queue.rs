//! `zkr queue`: an operator's view of the job queue (list, show) and its one repair (requeue a dead job).

use anyhow::{bail, Context, Result};
use zkr_queue::{Job, JobEvent, JobId, JobState, Queue, QueueConfig};

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// The job queue, e.g. postgres://postgres@127.0.0.1/zkr (default: the devnet's embedded queue).
    #[arg(long, env = "ZKR_QUEUE_URL", default_value = "sqlite://./zkr-data/queue.db", global = true)]
    pub database_url: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: QueueCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum QueueCommand {
    /// Jobs, oldest first: all, or those in one state (queued, leased, waiting, done, dead).
    List {
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One job in full: kind, batches, state, attempts and lost leases, the worker that last held it, its last error,
    /// dependencies, and its history (every lease, failure with its error, lost lease, completion, requeue).
    Show { id: JobId },
    /// Queue a dead job again with its attempts and lost leases reset (after fixing what killed it). Refused unless it
    /// is dead.
    Requeue { id: JobId },
}

pub fn run(args: QueueArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        if let Some(path) = args.database_url.strip_prefix("sqlite://") {
            // connecting would create an empty queue: a mistyped path must not look like an empty one
            if !std::path::Path::new(path).exists() {
                bail!("no job queue at {}: {path} does not exist (set --database-url)", args.database_url);
            }
        }
        let queue = Queue::connect(&args.database_url, QueueConfig::default())
            .await
            .with_context(|| format!("opening the job queue at {}", args.database_url))?;
        let out = match args.command {
            QueueCommand::List { state, limit } => {
                let state = state
                    .map(|s| s.parse::<JobState>().map_err(|e| anyhow::anyhow!("--state {s}: {e}")))
                    .transpose()?;
                let jobs = queue.list(state, limit).await.context("listing jobs")?;
                if args.json {
                    serde_json::to_string_pretty(&jobs)?
                } else if jobs.is_empty() {
                    "no jobs".to_string()
                } else {
                    jobs.iter().map(line).collect::<Vec<_>>().join("\n")
                }
            }
            QueueCommand::Show { id } => {
                let job = queue.get(id).await.context("reading the job")?;
                let job = job.with_context(|| format!("no job {id} in the queue"))?;
                let history = queue.history(id).await.context("reading the job's history")?;
                if args.json {
                    let mut v = serde_json::to_value(&job)?;
                    v["history"] = serde_json::to_value(&history)?;
                    serde_json::to_string_pretty(&v)?
                } else {
                    format!("{}\nhistory:\n{}", detail(&job), events(&history))
                }
            }
            QueueCommand::Requeue { id } => {
                if !queue.requeue_dead(id).await.context("requeueing the job")? {
                    match queue.get(id).await.context("reading the job")? {
                        None => bail!("no job {id} in the queue"),
                        Some(j) => bail!("job {id} is {}, not dead: only a dead job can be requeued", j.state),
                    }
                }
                let job = queue.get(id).await?.with_context(|| format!("job {id} vanished"))?;
                if args.json {
                    serde_json::to_string_pretty(&job)?
                } else {
                    format!("job {id} queued again (attempts and lost leases reset)\n{}", line(&job))
                }
            }
        };
        println!("{out}");
        queue.close().await;
        Ok(())
    })
}

fn batches(j: &Job) -> String {
    if j.batch_start == j.batch_end {
        format!("batch {}", j.batch_start)
    } else {
        format!("batches {}..={}", j.batch_start, j.batch_end)
    }
}

/// One line per job for `list`.
fn line(j: &Job) -> String {
    let error = j.last_error.as_deref().map(|e| format!("  last error: {e}")).unwrap_or_default();
    format!(
        "{:>6}  {:<11} level {:<2} {:<18} {:<7} attempts {}/{} lost leases {}{error}",
        j.id,
        j.kind,
        j.level,
        batches(j),
        j.state,
        j.attempts,
        j.max_attempts,
        j.lost_leases
    )
}

fn unix_s(t: i64) -> String {
    format!("{}.{:03} (unix s)", t.div_euclid(1000), t.rem_euclid(1000))
}

fn events(history: &[JobEvent]) -> String {
    if history.is_empty() {
        return "  (none recorded)".to_string();
    }
    let line = |e: &JobEvent| {
        let who = e.worker.as_deref().map(|w| format!(" by {w}")).unwrap_or_default();
        let what = e.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        format!("  {}  {}{who}{what}", unix_s(e.at), e.event)
    };
    history.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn detail(j: &Job) -> String {
    let ms = unix_s;
    let deps = if j.deps.is_empty() {
        "none".to_string()
    } else {
        j.deps.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
    };
    [
        format!("job {}: {} level {}, {}", j.id, j.kind, j.level, batches(j)),
        format!("state: {}", j.state),
        format!("attempts: {} of {} (failed proving or refused proofs)", j.attempts, j.max_attempts),
        format!("lost leases: {} (workers that crashed or vanished holding it)", j.lost_leases),
        format!("last held by: {}", j.picked_by.as_deref().unwrap_or("nobody")),
        format!("last error: {}", j.last_error.as_deref().unwrap_or("none")),
        format!("input: {}", if j.input_key.is_empty() { "its dependencies' proofs" } else { &j.input_key }),
        format!("result: {}", j.result_key.as_deref().unwrap_or("none yet")),
        format!("depends on: {deps}"),
        format!("created: {}, updated: {}", ms(j.created_at), ms(j.updated_at)),
    ]
    .join("\n")
}
