//! `vpc-imds`: the command-line program. See `vpc-imds --help`.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vpc_imds::vpc_imds_core::config::{Endpoint, Scheme};
use vpc_imds::{Client, ClientBuilder, Error, TrustedProfile};

#[cfg(feature = "demo")]
mod demo;
mod doctor;

const HELP: &str = "\
vpc-imds: read the IBM Cloud VPC Instance Metadata Service from inside an instance

Usage: vpc-imds [OPTIONS] <COMMAND> [ARGS]

Commands:
  token [--expires-in N] [--nonce VALUE]
                             Print a new instance identity token (N seconds, 5..3600,
                             default 300); VALUE (1..256 visible ASCII) comes back as
                             the JWT's `nonce` claim, for a relying party's challenge
  iam-token [--profile-id ID | --profile-crn CRN | --profile-name NAME]
                             Print an IAM token for a trusted profile (default: the
                             instance's default trusted profile)
  get PATH [--all]           Print the JSON of GET /metadata/v1/PATH; PATH may carry a
                             query (keys?limit=10). --all follows pagination and prints
                             one merged document, written as the pages arrive (if a
                             later page fails, the output ends early and the exit
                             status says why)
  user-data                  Write the raw user data bytes to stdout (no newline added)
  ssh-keys                   Print one authorized_keys line per SSH key
  wait [--max SECS]          Exit 0 once the service answers (tries for SECS, default 60)
  doctor [--https-endpoint URL]
                             Find out why the service does not answer: route, connect,
                             token (disabled? HTTPS only? hop limit in a container?),
                             clock, instance; one line per check with what to do.
                             --timeout is per check [default: 5]
  demo                       Start an embedded emulator and tour every command
                             (needs a build with --features demo)

Options (before or after the command):
      --endpoint URL   Service base URL [env: VPC_IMDS_ENDPOINT]
                       [default: http://169.254.169.254, or
                       https://api.metadata.cloud.ibm.com with --https]
      --timeout SECS   Deadline of each operation, retries included [default: 15]
      --version DATE   API version date YYYY-MM-DD [default: 2025-08-26]; dates before
                       2025-08-26 use the /instance_identity/v1 token paths
      --https          Secure access over HTTPS (instance metadata protocol `https`);
                       an http:// endpoint is upgraded to https://
      --cacert FILE    Trust only the PEM CA certificates in FILE for HTTPS
  -v, --verbose        Log each request and response to stderr (tokens redacted)
  -h, --help           Print this help
  -V                   Print the program version (--version is the API date)

Proxies: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (any case) are ignored on
purpose: the metadata service answers only on the instance's own link, and a proxy
could only see the token.

Examples:
  vpc-imds token --expires-in 600
  vpc-imds token --nonce \"$CHALLENGE\"
  curl -H \"Authorization: Bearer $(vpc-imds token)\" ...
  vpc-imds iam-token --profile-id Profile-8dd84246-7df4-4667-94e4-8cecee7b6ea0
  vpc-imds iam-token --profile-crn crn:v1:bluemix:public:iam-identity::a/123::profile:Profile-1
  vpc-imds get instance | jq -r .name
  vpc-imds get instance/network_interfaces
  vpc-imds get placement_groups --all
  vpc-imds user-data > /run/user-data
  vpc-imds ssh-keys >> ~/.ssh/authorized_keys
  vpc-imds wait --max 120 && vpc-imds get instance
  vpc-imds doctor
  vpc-imds --endpoint http://127.0.0.1:8080 --verbose get keys
  vpc-imds --https --cacert emulator.pem --endpoint https://127.0.0.1:8443 token
  vpc-imds demo

Exit status:
   0  success               6  unauthorized (HTTP 401/403)
   1  output not written    7  not_found (HTTP 404)
   2  invalid_input, usage  8  rate_limited (HTTP 429 until out of retries)
   3  refused/unreachable   9  server_error (HTTP 5xx until out of retries)
   4  timed_out            10  rejected (other HTTP 4xx)
   5  connection_lost      11  bad_response (malformed, truncated, oversized)
On failure exactly one line goes to stderr: `vpc-imds: KIND: message`.
";

/// Exit status when stdout could not be written (no error kind covers it).
const EXIT_OUTPUT: u8 = 1;
/// Exit status of usage errors (the same as `invalid_input`).
const EXIT_USAGE: u8 = 2;

#[derive(Debug)]
enum Command {
    Token {
        expires_in: Option<u32>,
        nonce: Option<String>,
    },
    IamToken {
        profile: Profile,
    },
    Get {
        path: String,
        all: bool,
    },
    UserData,
    SshKeys,
    Wait {
        max: Duration,
    },
    Doctor(Box<doctor::Options>),
    Demo,
}

#[derive(Debug)]
enum Profile {
    Default,
    Id(String),
    Crn(String),
    Name(String),
}

#[derive(Debug, Default)]
struct Globals {
    endpoint: Option<String>,
    timeout: Option<Duration>,
    version: Option<String>,
    https: bool,
    cacert: Option<PathBuf>,
    verbose: bool,
}

enum Parsed {
    Run(Globals, Command),
    Help,
    ProgramVersion,
}

fn main() -> ExitCode {
    let (globals, command) = match parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(g, c)) => (g, c),
        Ok(Parsed::Help) => return write_out(HELP.as_bytes()),
        Ok(Parsed::ProgramVersion) => {
            return write_out(concat!("vpc-imds ", env!("CARGO_PKG_VERSION"), "\n").as_bytes())
        }
        Err(msg) => {
            eprintln!("vpc-imds: usage: {} (see vpc-imds --help)", one_line(&msg));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Command::Demo = command {
        return run_demo(&globals);
    }
    if let Command::Doctor(opts) = &command {
        // Doctor makes its own client (its timeouts, one attempt) and reports a bad
        // setting as a finding.
        return doctor::run(
            builder(&globals),
            globals.cacert.is_some(),
            globals.timeout,
            opts,
        );
    }
    let client = builder(&globals).build();
    if let (true, Ok(c)) = (globals.cacert.is_some(), &client) {
        if let Some(why) = cacert_unused(c) {
            eprintln!("vpc-imds: usage: {why}");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let client = match client {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Command::Get { path, all: true } = &command {
        return get_all(&client, path);
    }
    match run(&client, command) {
        Ok(output) => write_out(&output),
        Err(e) => fail(&e),
    }
}

/// `get PATH --all`: the merged document written as the pages arrive, so memory
/// holds about one page whatever the number of pages.
fn get_all(client: &Client, path: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for part in client.get_all_parts(path) {
        let written = match part {
            Ok(part) => out.write_all(&part),
            Err(e) => return fail(&e),
        };
        if let Err(e) = written {
            return output_failed(&e);
        }
    }
    match out.write_all(b"\n").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(&e),
    }
}

fn output_failed(e: &std::io::Error) -> ExitCode {
    eprintln!("vpc-imds: cannot write to stdout: {e}");
    ExitCode::from(EXIT_OUTPUT)
}

/// Why `--cacert` would go unread with `client`: its endpoint is plain HTTP (the
/// token would go in clear where the user asked for certificates to be checked).
pub(crate) fn cacert_unused(client: &Client) -> Option<String> {
    let endpoint = client.config().endpoint();
    (endpoint.scheme() != Scheme::Https).then(|| {
        format!(
            "--cacert trusts certificates for HTTPS, but the endpoint {endpoint} is plain HTTP (add --https, or give an https:// endpoint)"
        )
    })
}

/// The client the global options describe.
fn builder(g: &Globals) -> ClientBuilder {
    let mut b = Client::builder();
    if let Some(url) = &g.endpoint {
        b = b.endpoint(url.clone());
    }
    if let Some(t) = g.timeout {
        b = b.timeout(t);
    }
    if let Some(v) = &g.version {
        b = b.version(v.clone());
    }
    if let Some(path) = &g.cacert {
        b = b.ca_file(path.clone());
    }
    b = b.secure(g.https);
    if g.verbose {
        b = b.trace(|t| eprintln!("vpc-imds: {t}"));
    }
    b
}

/// Runs a command; returns what goes to stdout.
fn run(client: &Client, command: Command) -> Result<Vec<u8>, Error> {
    Ok(match command {
        Command::Token { expires_in, nonce } => {
            let doc = client.identity_token_with(expires_in, nonce.as_deref())?;
            line(doc.token().expose())
        }
        Command::IamToken { profile } => {
            let profile = match &profile {
                Profile::Default => TrustedProfile::Default,
                Profile::Id(id) => TrustedProfile::Id(id),
                Profile::Crn(crn) => TrustedProfile::Crn(crn),
                Profile::Name(name) => TrustedProfile::Name(name),
            };
            line(client.iam_token(profile)?.token().expose())
        }
        Command::Get { path, .. } => {
            let mut body = client.get(&path)?.into_json();
            if !body.ends_with(b"\n") {
                body.push(b'\n');
            }
            body
        }
        Command::UserData => client.user_data()?.into_bytes(),
        Command::SshKeys => client
            .ssh_keys()?
            .into_iter()
            .flat_map(|k| line(&k))
            .collect(),
        Command::Wait { max } => {
            client.wait_until_ready(max)?;
            Vec::new()
        }
        Command::Demo | Command::Doctor(_) => Vec::new(),
    })
}

fn line(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(b'\n');
    v
}

fn write_out(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    let kind = e.kind();
    let hint = match kind {
        vpc_imds::ErrorKind::TimedOut | vpc_imds::ErrorKind::Refused => {
            " (run `vpc-imds doctor` to find out why)"
        }
        _ => "",
    };
    eprintln!("vpc-imds: {kind}: {}{hint}", one_line(&e.to_string()));
    ExitCode::from(kind.exit_code())
}

/// The message with any line break or control character turned into a space:
/// failures are one line, whatever the service put in its error message.
/// `s` in double quotes, with `"`, `\` and control characters escaped: what `{:?}`
/// prints for these, without Debug formatting (compiled out of the size build by
/// `-Zfmt-debug=none`).
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => {
                q.push_str("\\u{");
                let n = u32::from(c);
                let digits = if n > 0xff { 4 } else { 2 };
                for i in (0..digits).rev() {
                    let d = (n >> (i * 4)) & 0xf;
                    q.push(char::from_digit(d, 16).unwrap_or('0'));
                }
                q.push('}');
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(feature = "demo")]
fn run_demo(g: &Globals) -> ExitCode {
    match demo::run(g.verbose) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpc-imds: demo: {}", one_line(&e));
            ExitCode::from(EXIT_OUTPUT)
        }
    }
}

#[cfg(not(feature = "demo"))]
fn run_demo(_: &Globals) -> ExitCode {
    eprintln!(
        "vpc-imds: usage: this build has no demo; run: \
         cargo run --release -p vpc-imds --features demo -- demo"
    );
    ExitCode::from(EXIT_USAGE)
}

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    use lexopt::prelude::*;

    let mut p = lexopt::Parser::from_args(args);
    let mut g = Globals::default();
    let mut command: Option<String> = None;
    let mut path: Option<String> = None;
    let mut expires_in: Option<u32> = None;
    let mut nonce: Option<String> = None;
    let mut profile_id: Option<String> = None;
    let mut profile_crn: Option<String> = None;
    let mut profile_name: Option<String> = None;
    let mut all = false;
    let mut max: Option<Duration> = None;
    let mut https_endpoint: Option<Endpoint> = None;
    // Which command-specific options were given, to reject them on other commands.
    let mut specific: Vec<&'static str> = Vec::new();
    let err = usage;

    while let Some(arg) = p.next().map_err(err)? {
        match arg {
            Long("endpoint") => g.endpoint = Some(string(p.value().map_err(err)?)?),
            Long("timeout") => g.timeout = Some(seconds("--timeout", p.value().map_err(err)?)?),
            Long("version") => g.version = Some(string(p.value().map_err(err)?)?),
            Long("https") => g.https = true,
            Long("cacert") => g.cacert = Some(PathBuf::from(p.value().map_err(err)?)),
            Long("verbose") | Short('v') => g.verbose = true,
            Long("help") | Short('h') => return Ok(Parsed::Help),
            Short('V') => return Ok(Parsed::ProgramVersion),
            Long("expires-in") => {
                let v = string(p.value().map_err(err)?)?;
                let n = v
                    .parse::<u32>()
                    .map_err(|_| format!("--expires-in wants whole seconds, not {}", quoted(&v)))?;
                expires_in = Some(n);
                specific.push("--expires-in");
            }
            Long("nonce") => {
                nonce = Some(string(p.value().map_err(err)?)?);
                specific.push("--nonce");
            }
            Long("profile-id") => {
                profile_id = Some(string(p.value().map_err(err)?)?);
                specific.push("--profile-id");
            }
            Long("profile-crn") => {
                profile_crn = Some(string(p.value().map_err(err)?)?);
                specific.push("--profile-crn");
            }
            Long("profile-name") => {
                profile_name = Some(string(p.value().map_err(err)?)?);
                specific.push("--profile-name");
            }
            Long("all") => {
                all = true;
                specific.push("--all");
            }
            Long("https-endpoint") => {
                let url = string(p.value().map_err(err)?)?;
                match Endpoint::parse(&url) {
                    Ok(e) if e.scheme() == Scheme::Https => https_endpoint = Some(e),
                    _ => {
                        return Err(format!(
                            "--https-endpoint wants https://HOST[:PORT], not {}",
                            quoted(&url)
                        ))
                    }
                }
                specific.push("--https-endpoint");
            }
            Long("max") => {
                max = Some(seconds("--max", p.value().map_err(err)?)?);
                specific.push("--max");
            }
            Value(v) if command.is_none() => command = Some(string(v)?),
            Value(v) if command.as_deref() == Some("get") && path.is_none() => {
                path = Some(string(v)?)
            }
            Value(v) => {
                return Err(format!(
                    "unexpected argument {}",
                    quoted(&v.to_string_lossy())
                ))
            }
            _ => return Err(err(arg.unexpected())),
        }
    }

    let Some(name) = command else {
        return Err("no command given".to_owned());
    };
    let allowed: &[&str] = match name.as_str() {
        "token" => &["--expires-in", "--nonce"],
        "iam-token" => &["--profile-id", "--profile-crn", "--profile-name"],
        "get" => &["--all"],
        "wait" => &["--max"],
        "doctor" => &["--https-endpoint"],
        _ => &[],
    };
    if let Some(bad) = specific.iter().find(|o| !allowed.contains(o)) {
        return Err(format!("{bad} is not an option of `{name}`"));
    }
    let command = match name.as_str() {
        "token" => Command::Token { expires_in, nonce },
        "iam-token" => Command::IamToken {
            profile: match (profile_id, profile_crn, profile_name) {
                (Some(id), None, None) => Profile::Id(id),
                (None, Some(crn), None) => Profile::Crn(crn),
                (None, None, Some(name)) => Profile::Name(name),
                (None, None, None) => Profile::Default,
                _ => {
                    return Err(
                        "give one of --profile-id, --profile-crn or --profile-name".to_owned()
                    )
                }
            },
        },
        "get" => Command::Get {
            path: path.ok_or("get needs a PATH, e.g. `vpc-imds get instance`")?,
            all,
        },
        "user-data" => Command::UserData,
        "ssh-keys" => Command::SshKeys,
        "wait" => Command::Wait {
            max: max.unwrap_or(Duration::from_secs(60)),
        },
        "doctor" => Command::Doctor(Box::new(doctor::Options { https_endpoint })),
        "demo" => Command::Demo,
        "help" => return Ok(Parsed::Help),
        other => return Err(format!("unknown command {}", quoted(other))),
    };
    Ok(Parsed::Run(g, command))
}

/// A parse error in lexopt's words, with values quoted as everywhere else here
/// (lexopt's own `Display` quotes them with `{:?}`).
fn usage(e: lexopt::Error) -> String {
    use lexopt::Error as E;
    match e {
        E::MissingValue { option: Some(o) } => format!("missing argument for option '{o}'"),
        E::UnexpectedOption(o) => format!("invalid option '{o}'"),
        E::UnexpectedArgument(v) => format!("unexpected argument {}", quoted(&v.to_string_lossy())),
        E::UnexpectedValue { option, value } => format!(
            "unexpected argument for option '{option}': {}",
            quoted(&value.to_string_lossy())
        ),
        // Not made by this parser (it converts and parses values itself).
        _ => "missing or malformed argument".to_owned(),
    }
}

fn string(v: OsString) -> Result<String, String> {
    v.into_string()
        .map_err(|v| format!("{} is not valid UTF-8", quoted(&v.to_string_lossy())))
}

/// Seconds, with up to three decimals: above zero, at most a day. (Parsed by
/// hand: float parsing and printing would cost the binary about 30 KB.)
fn seconds(flag: &str, v: OsString) -> Result<Duration, String> {
    let s = string(v)?;
    let bad = || {
        format!(
            "{flag} wants seconds above 0 and at most 86400, not {}",
            quoted(&s)
        )
    };
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) || whole.is_empty() && digits(frac)) || !(frac.is_empty() || digits(frac)) {
        return Err(bad());
    }
    if frac.len() > 3 || whole.len() > 5 {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let millis = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let total = whole * 1000 + millis;
    if total == 0 || total > 86_400_000 {
        return Err(bad());
    }
    Ok(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Parsed, String> {
        parse(s.split_whitespace().map(OsString::from))
    }

    #[test]
    fn globals_go_anywhere() {
        let Ok(Parsed::Run(g, Command::Get { path, all })) =
            args("get --endpoint http://127.0.0.1:1 keys --all --timeout 0.5 -v")
        else {
            panic!("not parsed")
        };
        assert_eq!(g.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(g.timeout, Some(Duration::from_millis(500)));
        assert!(g.verbose && all);
        assert_eq!(path, "keys");
    }

    #[test]
    fn quoted_matches_debug_without_debug() {
        for s in [
            "frobnicate",
            "a\"b",
            "back\\slash",
            "two\nlines\t\r",
            "\u{1b}[31m",
            "Grüße",
        ] {
            assert_eq!(quoted(s), format!("{s:?}"), "{s:?}");
        }
        let Err(msg) = args("frobnicate") else {
            panic!("not an error")
        };
        assert_eq!(msg, "unknown command \"frobnicate\"");
    }

    #[test]
    fn parse_errors_in_our_words() {
        let said = |s: &str| args(s).err().unwrap_or_default();
        assert_eq!(
            said("token --timeout"),
            "missing argument for option '--timeout'"
        );
        assert_eq!(said("--bogus token"), "invalid option '--bogus'");
        assert_eq!(
            said("--https=\"x\" token"),
            "unexpected argument for option '--https': \"\\\"x\\\"\""
        );
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "",
            "frobnicate",
            "get",
            "get a b",
            "token --all",
            "user-data --max 3",
            "iam-token --profile-id a --profile-crn b",
            "token --expires-in x",
            "--timeout 0 token",
            "--timeout nan token",
            "--timeout 1e3 token",
            "--timeout 0.0001 token",
            "--timeout -1 token",
            "--timeout 86401 token",
            "wait --max .",
            "--version",
            "token --bogus",
            "doctor --https-endpoint http://127.0.0.1:8443",
            "doctor --https-endpoint https://host:99999",
            "doctor --https-endpoint https://host:",
            "doctor --https-endpoint host",
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
        assert!(args("doctor --https-endpoint https://127.0.0.1:8443").is_ok());
        assert!(matches!(args("--help"), Ok(Parsed::Help)));
        for (text, ms) in [
            ("2", 2000),
            ("0.5", 500),
            (".25", 250),
            ("1.", 1000),
            ("86400", 86_400_000),
        ] {
            let Ok(Parsed::Run(g, _)) = args(&format!("token --timeout {text}")) else {
                panic!("{text}")
            };
            assert_eq!(g.timeout, Some(Duration::from_millis(ms)), "{text}");
        }
        assert!(matches!(args("token -h"), Ok(Parsed::Help)));
        assert!(matches!(args("-V"), Ok(Parsed::ProgramVersion)));
    }
}
