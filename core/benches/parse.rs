//! Parsing the instance document and a token response: our borrowed,
//! allocation-free models against serde_json into equivalent owned structs,
//! measured in the same run; each group ends with a line giving the ratio of
//! the two times (the goal is 0.80 or less).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use serde::Deserialize;
use vpc_imds_core::model::Instance;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Owned mirrors of the fields our model reads, for serde_json.
mod owned {
    use super::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Reference {
        pub crn: Option<String>,
        pub id: Option<String>,
        pub name: Option<String>,
        pub resource_type: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct NameRef {
        pub name: String,
        pub resource_type: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Reason {
        pub code: Option<String>,
        pub message: Option<String>,
        pub more_info: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Burst {
        pub limit: Option<u32>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Vcpu {
        pub architecture: Option<String>,
        pub count: Option<u32>,
        pub manufacturer: Option<String>,
        pub percentage: Option<u32>,
        pub burst: Option<Burst>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct MetadataService {
        pub enabled: Option<bool>,
        pub protocol: Option<String>,
        pub response_hop_limit: Option<u8>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Availability {
        pub class: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct AvailabilityPolicy {
        pub host_failure: Option<String>,
        pub preemption: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Device {
        pub id: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct VolumeAttachmentRef {
        pub device: Option<Device>,
        pub id: String,
        pub name: Option<String>,
        pub volume: Option<Reference>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct NetworkInterfaceRef {
        pub id: String,
        pub name: Option<String>,
        pub primary_ipv4_address: Option<String>,
        pub resource_type: Option<String>,
        pub subnet: Option<Reference>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Instance {
        pub id: String,
        pub crn: Option<String>,
        pub name: Option<String>,
        pub resource_type: Option<String>,
        pub created_at: Option<String>,
        pub status: Option<String>,
        #[serde(default)]
        pub status_reasons: Vec<Reason>,
        pub lifecycle_state: Option<String>,
        #[serde(default)]
        pub lifecycle_reasons: Vec<Reason>,
        pub health_state: Option<String>,
        #[serde(default)]
        pub health_reasons: Vec<Reason>,
        pub startable: Option<bool>,
        pub memory: Option<u32>,
        pub vcpu: Option<Vcpu>,
        pub threads_per_core: Option<u32>,
        pub numa_count: Option<u32>,
        pub bandwidth: Option<u32>,
        pub total_network_bandwidth: Option<u32>,
        pub total_volume_bandwidth: Option<u32>,
        pub volume_bandwidth_qos_mode: Option<String>,
        pub profile: Option<NameRef>,
        pub zone: Option<NameRef>,
        pub vpc: Option<Reference>,
        pub image: Option<Reference>,
        pub resource_group: Option<Reference>,
        pub metadata_service: Option<MetadataService>,
        pub availability: Option<Availability>,
        pub availability_policy: Option<AvailabilityPolicy>,
        pub boot_volume_attachment: Option<VolumeAttachmentRef>,
        #[serde(default)]
        pub volume_attachments: Vec<VolumeAttachmentRef>,
        pub primary_network_interface: Option<NetworkInterfaceRef>,
        #[serde(default)]
        pub network_interfaces: Vec<NetworkInterfaceRef>,
        pub confidential_compute_mode: Option<String>,
        pub enable_secure_boot: Option<bool>,
    }
}

fn allocations_per_parse(f: impl Fn()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// Criterion's estimate (the one it prints) of a benchmark's time per
/// iteration in nanoseconds, if it was measured since `since`.
fn estimate_ns(group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("../criterion"));
    let path = home.join(group).join(id).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| v["mean"]["point_estimate"].as_f64())
}

fn human(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Prints `ours / reference` for a group measured since `since`.
fn print_ratio(group: &str, ours: &str, reference: &str, since: SystemTime) {
    match (
        estimate_ns(group, ours, since),
        estimate_ns(group, reference, since),
    ) {
        (Some(a), Some(b)) => println!(
            "{group}: vpc-imds-core {} / serde_json owned {} = ratio {:.2} (goal <= 0.80)",
            human(a),
            human(b),
            a / b
        ),
        _ => println!("{group}: ratio unavailable (run both benchmarks of the group)"),
    }
}

const OURS: &str = "vpc-imds-core (borrowed, no alloc)";

fn bench(c: &mut Criterion) {
    let started = SystemTime::now();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/fixtures/instance.json");
    let body = std::fs::read(path).expect("instance fixture");
    let ours = || {
        let i = Instance::parse(black_box(&body)).expect("parses");
        black_box(i.network_interfaces.len());
    };
    let reference = || {
        let i: owned::Instance = serde_json::from_slice(black_box(&body)).expect("parses");
        black_box(i.network_interfaces.len());
    };
    println!(
        "allocations per parse of instance.json ({} bytes): vpc-imds-core {}, serde_json owned {}",
        body.len(),
        allocations_per_parse(ours),
        allocations_per_parse(reference)
    );
    let mut group = c.benchmark_group("parse instance.json");
    group.bench_function(OURS, |b| b.iter(ours));
    group.bench_function("serde_json (owned structs)", |b| b.iter(reference));
    group.finish();
    print_ratio(
        "parse instance.json",
        OURS,
        "serde_json (owned structs)",
        started,
    );

    let token = br#"{"access_token":"eyJhbGciOiJSUzI1NiIsImtpZCI6IkZBS0UtRU1VIn0.eyJpc3MiOiJGQUtFLUVNVSJ9.ZmFrZS1zaWc","created_at":"2025-09-01T12:00:00.000Z","expires_at":"2025-09-01T12:10:00.000Z","expires_in":600}"#;
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct OwnedToken {
        access_token: String,
        created_at: Option<String>,
        expires_at: Option<String>,
        expires_in: Option<u32>,
    }
    let mut group = c.benchmark_group("parse token response");
    group.bench_function(OURS, |b| {
        b.iter(|| {
            black_box(
                vpc_imds_core::model::AccessToken::parse(black_box(token))
                    .expect("parses")
                    .lifetime_secs(),
            )
        })
    });
    group.bench_function("serde_json (owned struct)", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_slice::<OwnedToken>(black_box(token))
                    .expect("parses")
                    .expires_in,
            )
        })
    });
    group.finish();
    print_ratio(
        "parse token response",
        OURS,
        "serde_json (owned struct)",
        started,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
