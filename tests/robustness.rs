//! Bad input of any kind gets an error, never a panic: random and mutated
//! bodies through every decoder, journals, filters, plans and archives.

mod common;

use amptap::event::{decode_request, BodyLimits, Endpoint};
use amptap::filter::Filter;
use amptap::plan::{parse_csv, parse_toml, EventContext, Plan, Validator};
use amptap::record::JournalReader;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips, cuts, duplicates and splices bytes of a real input.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        if out.is_empty() {
            out.push(b'{');
        }
        let at = rng.below(out.len());
        match rng.below(5) {
            0 => out[at] = rng.next() as u8,
            1 => out.truncate(at),
            2 => {
                let chunk: Vec<u8> = out[at..].iter().take(rng.below(40)).copied().collect();
                out.splice(at..at, chunk);
            }
            3 => {
                let specials = b"{}[]\",:\\\0\xff";
                out.insert(at, specials[rng.below(specials.len())]);
            }
            _ => {
                out.remove(at);
            }
        }
    }
    out
}

#[test]
fn decoders_never_panic_on_mutated_sdk_requests() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let plan = Plan::none();
    let seeds = common::all_wire_posts();
    for round in 0..4000 {
        let seed = &seeds[round % seeds.len()];
        let body = mutate(&mut rng, &seed.body);
        let encoding = if rng.below(6) == 0 {
            Some("gzip")
        } else {
            seed.header("content-encoding")
        };
        for endpoint in Endpoint::ALL {
            if let Ok(batch) = decode_request(
                endpoint,
                encoding,
                &body,
                BodyLimits {
                    max_body_bytes: 1 << 20,
                },
            ) {
                // Whatever decodes can be judged and answered.
                let mut v = Validator::new(&plan);
                let mut out = Vec::new();
                for e in &batch.events {
                    v.check(
                        e,
                        &EventContext {
                            received_ms: 0,
                            seq: 1,
                            delivered: true,
                            min_id_length: None,
                        },
                        &mut out,
                    );
                    let _ = e.common();
                }
                let _ = amptap::tap::offline::answer(endpoint, &Ok(batch), 0);
            }
        }
    }
}

#[test]
fn journals_filters_and_plans_never_panic() {
    let mut rng = Rng(0xFEED_FACE_0000_0002);
    let journal_line = br#"{"seq":1,"received":"2026-11-24T10:00:00Z","endpoint":"/2/httpapi","client":"127.0.0.1:1","body_bytes":10,"events":[{"event_type":"a"}],"answer":{"status":200,"body":"{}"},"delivery":{"kind":"offline"}}"#;
    let toml = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml"),
    )
    .expect("plan");
    let csv = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.csv"),
    )
    .expect("plan");
    for _ in 0..3000 {
        let mut lines = Vec::new();
        for _ in 0..rng.below(4) + 1 {
            lines.extend(mutate(&mut rng, journal_line));
            lines.push(b'\n');
        }
        let mut reader = JournalReader::new(lines.as_slice());
        let _ = reader.by_ref().count();
        let _ = reader.warnings().len();

        let filter = mutate(&mut rng, b"type:dify_.* -status:ok prop.model=gpt-4o|claude \"a b\" code:missing_property has:x.y");
        let _ = Filter::parse(&String::from_utf8_lossy(&filter));

        let _ = parse_toml(
            &String::from_utf8_lossy(&mutate(&mut rng, &toml)),
            "fuzz.toml",
        );
        let _ = parse_csv(
            &String::from_utf8_lossy(&mutate(&mut rng, &csv)),
            "fuzz.csv",
        );
    }
}

#[test]
fn archives_never_panic() {
    let mut rng = Rng(0xA5A5_0000_1111_0003);
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.zip");
    let rows: Vec<amptap::export::ExportedRow> = (0..50)
        .map(|i| amptap::export::ExportedRow {
            insert_id: Some(format!("id-{i}")),
            server_upload_time: Some("2026-11-24 10:00:00.000000".into()),
            ..Default::default()
        })
        .collect();
    amptap::export::archive::write_archive(&rows, 1, std::fs::File::create(&good).expect("create"))
        .expect("write");
    let bytes = std::fs::read(&good).expect("read");
    let path = dir.path().join("mutated.zip");
    for _ in 0..300 {
        std::fs::write(&path, mutate(&mut rng, &bytes)).expect("write");
        let mut warnings = Vec::new();
        let _ = amptap::export::read_archive(&path, |_| {}, &mut warnings);
    }
}
