//! `vpc-imds demo`: the emulator in-process, and a tour of what the client does.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use vpc_imds::{Client, Trace, TrustedProfile};
use vpc_imds_emulator::{Emulator, FaultRule};

/// Set when stdout cannot be written (a closed pipe: `vpc-imds demo | head`);
/// the tour then ends with that error instead of a panic.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes one line to stdout; a failure is remembered, not a panic.
fn say(line: &str) {
    if !STDOUT_FAILED.load(Ordering::Relaxed)
        && writeln!(std::io::stdout().lock(), "{line}").is_err()
    {
        STDOUT_FAILED.store(true, Ordering::Relaxed);
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn head(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn ok(&self, s: &str) -> String {
        self.paint("32", s)
    }
}

/// Runs the tour; an error is one line for the caller to print.
pub(crate) fn run(verbose: bool) -> Result<(), String> {
    let started = Instant::now();
    let style = Arc::new(Style {
        on: std::io::stdout().is_terminal(),
    });
    let emu = Emulator::builder()
        .worker_threads(1)
        .start()
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let base = emu.base_url().to_owned();
    let show = Arc::new(AtomicBool::new(true));
    let client = {
        let style = style.clone();
        let show = show.clone();
        Client::builder()
            .endpoint(base.clone())
            .trace(move |t| {
                let quiet = matches!(t, Trace::Connected { .. }) && !verbose;
                if show.load(Ordering::Relaxed) && !quiet {
                    say(&format!("    {}", style.dim(&t.to_string())));
                }
            })
            .build()
            .map_err(|e| e.to_string())?
    };
    let s = &*style;
    let out = say;
    let step = |n: u32, title: &str, cli: &str| {
        say("");
        say(&s.head(&format!("{n}. {title}")));
        say(&format!(
            "   {}",
            s.dim(&format!("$ vpc-imds --endpoint {base} {cli}"))
        ));
    };

    out(&s.head("vpc-imds demo"));
    out(&format!(
        "An emulated IBM Cloud VPC metadata service is listening on {base} (in this process).\n\
         Each step shows the requests the client sends (tokens redacted) and what it got."
    ));

    step(1, "Instance identity token", "token");
    let token = client.identity_token().map_err(|e| e.to_string())?;
    out(&format!(
        "   {} a {}-byte JWT, valid {} s; cached and reused by the next steps",
        s.ok("got"),
        token.token().len(),
        token.expires_in().unwrap_or(0)
    ));
    out(&format!(
        "   {}",
        s.dim("(`vpc-imds token` prints it; here it stays redacted, as in every log)")
    ));

    step(2, "The instance", "get instance");
    let instance = client.instance().map_err(|e| e.to_string())?;
    let i = instance.get();
    out(&format!("   {} {} ({})", s.ok("name"), text(i.name), i.id));
    out(&format!(
        "   {} {} in zone {}, {} vCPU, {} GiB, status {}",
        s.ok("profile"),
        text(i.profile.map(|p| p.name)),
        text(i.zone.map(|z| z.name)),
        number(i.vcpu.and_then(|v| v.count)),
        number(i.memory),
        text(i.status)
    ));

    step(3, "User data", "user-data");
    let user_data = client.user_data().map_err(|e| e.to_string())?;
    out(&format!(
        "   {} {} bytes{}",
        s.ok("got"),
        user_data.len(),
        if user_data.is_gzip() { " (gzip)" } else { "" }
    ));
    let parts = user_data.parts().map_err(|e| e.to_string())?;
    if user_data.is_multipart() {
        out(&format!("   MIME multi-part, {} parts:", parts.len()));
    }
    for p in &parts {
        let text = String::from_utf8_lossy(&p.payload);
        match &p.content_type {
            Some(t) => out(&format!(
                "     - {t} {}: {}",
                p.filename.as_deref().unwrap_or_default(),
                text.lines().next().unwrap_or("")
            )),
            None => out(&format!("   {text}")),
        }
    }

    step(4, "SSH keys (authorized_keys lines)", "ssh-keys");
    for key in client.ssh_keys().map_err(|e| e.to_string())? {
        out(&format!("   {}", ellipsis(&key, 72)));
    }

    step(5, "IAM token for the default trusted profile", "iam-token");
    let iam = client
        .iam_token(TrustedProfile::Default)
        .map_err(|e| e.to_string())?;
    out(&format!(
        "   {} a {}-byte IAM token, valid {} s",
        s.ok("got"),
        iam.token().len(),
        iam.expires_in().unwrap_or(0)
    ));

    step(
        6,
        "Resilience: the service fails twice with 503, then answers",
        "get instance/initialization",
    );
    emu.control()
        .add_fault(FaultRule::status(503).times(2))
        .map_err(|e| e.to_string())?;
    let init = client.initialization().map_err(|e| e.to_string())?;
    out(&format!(
        "   {} after two retries with jittered backoff: {} initial key(s)",
        s.ok("got it"),
        init.get().keys.len()
    ));

    show.store(false, Ordering::Relaxed);
    let counters = emu.control().counters();
    say("");
    out(&format!(
        "{} {} requests, {} identity token(s) created, {} ms in all.",
        s.head("Done:"),
        counters.requests,
        counters.token_creations,
        started.elapsed().as_millis()
    ));
    out("Try it on an instance: `vpc-imds get instance`, `vpc-imds --help` for more.");
    let flushed = std::io::stdout().flush();
    emu.shutdown();
    if STDOUT_FAILED.load(Ordering::Relaxed) || flushed.is_err() {
        return Err("cannot write to stdout".to_owned());
    }
    Ok(())
}

fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{head}…")
}

fn text(t: Option<vpc_imds::vpc_imds_core::text::Text<'_>>) -> String {
    t.map_or_else(|| "?".to_owned(), |t| t.to_string())
}

fn number(n: Option<u32>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}
