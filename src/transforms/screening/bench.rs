//! The screening benchmark (`cipwatch screening-bench`, hidden; `benches/screening.sh`): synthetic
//! registries and lists of given sizes, seeded, screened by name as a run does; prints the time
//! per stage. Names are made of syllables with a skewed draw (a few first names and company words
//! are very common, as on the real lists), and one customer in a thousand is a misspelt or
//! reordered listed name.

use rayon::prelude::*;
use std::time::Instant;

use super::lists::Listed;
use super::Screen;

/// A small deterministic generator (xorshift64*), so every size is the same data on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed toward 0: the minimum of two uniform draws, squared-ish.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        let c = self.below(n);
        a.min(b).min(c)
    }
}

const SYLLABLES: &[&str] = &[
    "al", "an", "ar", "ba", "be", "da", "de", "di", "el", "en", "fa", "ga", "ha", "he", "ib", "ka",
    "ki", "ko", "la", "le", "li", "ma", "me", "mi", "mo", "na", "ne", "ni", "no", "ov", "ra", "re",
    "ri", "ro", "sa", "se", "sh", "si", "ta", "te", "ti", "to", "va", "ve", "vi", "ya", "za", "zh",
];
const COMPANY_WORDS: &[&str] = &[
    "trading",
    "international",
    "industrial",
    "technology",
    "group",
    "engineering",
    "energy",
    "shipping",
    "logistics",
    "electronics",
    "import",
    "export",
    "general",
    "systems",
    "global",
];

fn word(rng: &mut Rng, syllables: usize) -> String {
    let mut w = String::new();
    for _ in 0..syllables {
        w.push_str(SYLLABLES[rng.below(SYLLABLES.len())]);
    }
    w
}

/// A vocabulary of `n` words of 2 to 4 syllables.
fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let s = 2 + rng.below(3);
            word(rng, s)
        })
        .collect()
}

fn person(rng: &mut Rng, first: &[String], last: &[String]) -> String {
    let mut n = format!(
        "{} {}",
        first[rng.skewed(first.len())],
        last[rng.below(last.len())]
    );
    if rng.below(3) == 0 {
        n = format!("{} {}", first[rng.skewed(first.len())], n);
    }
    n
}

fn company(rng: &mut Rng, last: &[String]) -> String {
    format!(
        "{} {} {} {}",
        last[rng.below(last.len())],
        last[rng.below(last.len())],
        COMPANY_WORDS[rng.skewed(COMPANY_WORDS.len())],
        ["LLC", "Ltd", "OOO", "GmbH", "Co."][rng.below(5)]
    )
}

/// A misspelling: one letter replaced, or the tokens reordered.
fn variant(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if rng.below(2) == 0 && chars.len() > 4 {
        let i = 1 + rng.below(chars.len() - 2);
        if chars[i].is_alphabetic() {
            chars[i] = 'y';
        }
        chars.into_iter().collect()
    } else {
        let mut t: Vec<&str> = name.split_whitespace().collect();
        t.reverse();
        t.join(" ")
    }
}

/// What one benchmark run measured.
pub struct Report {
    pub customers: usize,
    pub listed_entries: usize,
    pub listed_names: usize,
    pub threads: usize,
    pub generate_s: f64,
    pub index_s: f64,
    pub screen_s: f64,
    pub candidates: usize,
    /// Listed names compared per customer, on average over the first 1,000 customers.
    pub compared: f64,
    /// A few customers at score >= 0.90 with their best listed name, to look at.
    pub examples: Vec<String>,
}

impl Report {
    pub fn text(&self) -> String {
        format!(
            "customers {}, listed entries {} ({} names), {} threads: generate {:.2} s, index {:.3} s, screen {:.2} s ({:.0} customers/s); {} at score >= 0.90",
            self.customers,
            self.listed_entries,
            self.listed_names,
            self.threads,
            self.generate_s,
            self.index_s,
            self.screen_s,
            self.customers as f64 / self.screen_s.max(1e-9),
            self.candidates
        ) + &format!(
            "; {:.1} listed names compared per customer\n{}",
            self.compared,
            self.examples.join("\n")
        )
    }
}

/// Generates `customers` customer names and `entries` listed entries (each with 0–3 alternative
/// names) from `seed`, indexes the lists and screens every customer by name.
pub fn run(customers: usize, entries: usize, seed: u64) -> Report {
    let started = Instant::now();
    let mut rng = Rng(seed.max(1));
    let first = vocabulary(&mut rng, 2_000);
    let last = vocabulary(&mut rng, 200_000);
    let listed: Vec<Listed> = (0..entries)
        .map(|e| {
            let primary = match rng.below(3) {
                0 => company(&mut rng, &last),
                _ => person(&mut rng, &first, &last),
            };
            let mut names = vec![primary.clone()];
            for _ in 0..rng.below(4) {
                names.push(variant(&mut rng, &primary));
            }
            Listed {
                list: "SDN".into(),
                entry_id: e.to_string(),
                names,
                ..Listed::default()
            }
        })
        .collect();
    let people: Vec<String> = (0..customers)
        .map(|_| match rng.below(1000) {
            0 if entries > 0 => {
                let l = &listed[rng.below(entries)];
                variant(&mut rng, &l.names[0])
            }
            1..=200 => company(&mut rng, &last),
            _ => person(&mut rng, &first, &last),
        })
        .collect();
    let generate_s = started.elapsed().as_secs_f64();
    let t = Instant::now();
    let screen = Screen::new(&listed);
    let index_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let candidates = people
        .par_iter()
        .map_init(
            || (Vec::new(), 0u32),
            |(seen, stamp), name| {
                *stamp = stamp.wrapping_add(1);
                usize::from(screen.best(name, seen, *stamp) >= 0.9)
            },
        )
        .sum();
    let sample = &people[..people.len().min(1000)];
    let mut seen = Vec::new();
    let mut compared = 0usize;
    let mut examples = Vec::new();
    for (i, name) in sample.iter().enumerate() {
        let norm = super::names::normalise(name);
        let mut best = (0.0, 0u32);
        screen
            .index
            .candidates(&norm, &mut seen, i as u32 + 1, |j| {
                compared += 1;
                let s = screen.index.score(&norm, j);
                if s > best.0 {
                    best = (s, j);
                }
            });
        if best.0 >= 0.9 && examples.len() < 8 {
            examples.push(format!(
                "  {name} ~ {} ({:.3})",
                screen.written[best.1 as usize], best.0
            ));
        }
    }
    Report {
        compared: compared as f64 / sample.len().max(1) as f64,
        examples,
        customers,
        listed_entries: entries,
        listed_names: screen.index.names.len(),
        threads: rayon::current_num_threads(),
        generate_s,
        index_s,
        screen_s: t.elapsed().as_secs_f64(),
        candidates,
    }
}
