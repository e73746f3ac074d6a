//! Names as screening compares them, and the comparison itself.
//!
//! A name is normalised once: compatibility decomposition (NFKD) with the combining marks dropped,
//! then transliterated to ASCII (`deunicode`: Cyrillic, Greek, Arabic, CJK and the rest), lower
//! case, punctuation to spaces, and legal-form words (`LLC`, `Ltd`, `OOO`, `GmbH`, ...) dropped. Its
//! tokens are compared in sorted order, so `KARIMI, Mohammad Reza` and `Mohammad Reza Karimi` are one
//! name.
//!
//! The name score of two names (0 to 1) is a soft token Dice coefficient: each token is paired with
//! its most similar unused token of the other name, where the similarity of two tokens is the mean
//! of their Jaro–Winkler similarity and their normalised Damerau–Levenshtein similarity (`strsim`;
//! Jaro–Winkler alone rewards a shared prefix, `sivi` and `sivikaal` 0.90), counted from
//! [`TOKEN_MATCH`]; the matched tokens' weights on both sides, times their similarity, over the
//! weights of all tokens of both names. A token's weight is its inverse document frequency among
//! the listed names (`ln((N + 1) / (df + 1)) + 1`), so words many entries share (`trading`,
//! `international`, `mohammed`) count less than rare ones. A name that shares only some of its
//! tokens with another (`Ahmed Hassan` and `Ahmed Mohamed Hassan`) scores below one that shares
//! them all with a misspelling (`Mohamad Reza Karimy`).
//!
//! [`Index`] blocks the comparison: a listed name is found through the first three letters of each
//! of its tokens, and, where one such key is shared by many listed names (`moh`, `tra`), through a
//! pair of keys instead; so a registry of millions of parties is never compared with every listed
//! name.

use std::collections::HashMap;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Legal-form and filler words dropped from names (after normalisation, lower case).
const DROPPED: &[&str] = &[
    "the",
    "llc",
    "l l c",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "sa",
    "sarl",
    "srl",
    "spa",
    "sas",
    "bv",
    "nv",
    "plc",
    "llp",
    "lp",
    "pte",
    "pty",
    "ooo",
    "oao",
    "zao",
    "pao",
    "ao",
    "jsc",
    "ojsc",
    "cjsc",
    "pjsc",
    "tov",
    "ip",
    "fze",
    "fzco",
    "fzc",
    "fz",
    "bhd",
    "sdn",
    "kk",
    "ab",
    "oy",
    "as",
    "sro",
    "doo",
    "ltda",
    "cia",
    "sl",
    "ug",
    "eood",
    "ood",
    "jv",
    "group",
    "holding",
    "holdings",
];

/// A normalised name: its tokens, sorted, and the sorted tokens joined by spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub tokens: Vec<String>,
    pub sorted: String,
}

impl Name {
    /// True when nothing is left to compare (an empty name, or one made only of legal-form words).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The blocking keys of the name: the first three letters of each token of two or more
    /// characters (the whole token when shorter), distinct.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .tokens
            .iter()
            .filter(|t| t.len() >= 2)
            .map(|t| t.chars().take(3).collect())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Text in the one form names are compared in: marks dropped, transliterated to ASCII, lower case,
/// every character that is not a letter or digit a space.
pub fn fold(text: &str) -> String {
    let unmarked: String = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    deunicode::deunicode(&unmarked)
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => ' ',
        })
        .collect()
}

/// The normalised name of `text` ([`fold`], legal forms dropped, tokens sorted).
pub fn normalise(text: &str) -> Name {
    let folded = fold(text);
    let mut tokens: Vec<String> = folded
        .split_whitespace()
        .filter(|t| !DROPPED.contains(t))
        .map(String::from)
        .collect();
    tokens.sort();
    let sorted = tokens.join(" ");
    Name { tokens, sorted }
}

/// An identity number in the one form numbers are compared in: letters and digits only, upper
/// case. `None` for fewer than five characters (too short to tell anyone apart).
pub fn identifier(text: &str) -> Option<String> {
    let id: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (id.len() >= 5 && id.chars().any(|c| c.is_ascii_digit())).then_some(id)
}

/// The similarity of two tokens below which a token counts as unmatched.
pub const TOKEN_MATCH: f64 = 0.85;

/// The similarity of two tokens: the mean of Jaro–Winkler and normalised Damerau–Levenshtein.
pub fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    (strsim::jaro_winkler(a, b) + strsim::normalized_damerau_levenshtein(a, b)) / 2.0
}

/// The name score of two normalised names with every token weighing the same (see
/// [`score_weighted`]).
pub fn score(a: &Name, b: &Name) -> f64 {
    score_weighted(a, b, &|_| 1.0)
}

/// The name score of two normalised names, 0 to 1, tokens weighed by `weight` (see the module's
/// documentation).
pub fn score_weighted(a: &Name, b: &Name, weight: &dyn Fn(&str) -> f64) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a.sorted == b.sorted {
        return 1.0;
    }
    soft_dice(&a.tokens, &b.tokens, weight)
}

/// Each token of the shorter name paired greedily with its most similar unused token of the other
/// (similarity at least [`TOKEN_MATCH`]); matched weight, counted on both sides, over all weight.
fn soft_dice(a: &[String], b: &[String], weight: &dyn Fn(&str) -> f64) -> f64 {
    let (short, long) = match a.len() <= b.len() {
        true => (a, b),
        false => (b, a),
    };
    let total: f64 = short.iter().chain(long).map(|t| weight(t)).sum();
    let mut used = vec![false; long.len()];
    let mut matched = 0.0;
    for t in short {
        let best = long
            .iter()
            .enumerate()
            .filter(|(j, _)| !used[*j])
            .map(|(j, u)| (j, token_similarity(t, u)))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((j, s)) = best.filter(|(_, s)| *s >= TOKEN_MATCH) {
            used[j] = true;
            matched += s * (weight(t) + weight(&long[j]));
        }
    }
    if total == 0.0 {
        0.0
    } else {
        matched / total
    }
}

/// The listed names, blocked by token keys (see the module's documentation).
pub struct Index {
    pub names: Vec<Name>,
    /// Token → the number of listed names holding it.
    df: HashMap<String, u32>,
    single: HashMap<String, Vec<u32>>,
    pairs: HashMap<(String, String), Vec<u32>>,
    /// A key shared by more listed names than this is looked up in pairs only.
    cap: usize,
}

impl Index {
    /// Indexes `names` (normalised listed names; empty ones are never found).
    pub fn new(names: Vec<Name>) -> Index {
        let mut single: HashMap<String, Vec<u32>> = HashMap::new();
        let mut pairs: HashMap<(String, String), Vec<u32>> = HashMap::new();
        let mut df: HashMap<String, u32> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let mut tokens: Vec<&String> = name.tokens.iter().collect();
            tokens.dedup();
            for t in tokens {
                *df.entry(t.clone()).or_default() += 1;
            }
            let keys = name.keys();
            for k in &keys {
                single.entry(k.clone()).or_default().push(i as u32);
            }
            // Names of more than eight keys (long company names) are found through their first
            // eight keys' pairs: enough for any name sharing two of them.
            let few = &keys[..keys.len().min(8)];
            for (x, k1) in few.iter().enumerate() {
                for k2 in &few[x + 1..] {
                    pairs
                        .entry((k1.clone(), k2.clone()))
                        .or_default()
                        .push(i as u32);
                }
            }
        }
        let cap = (names.len() / 1000).max(64);
        Index {
            names,
            df,
            single,
            pairs,
            cap,
        }
    }

    /// A token's weight: its inverse document frequency among the listed names.
    pub fn weight(&self, token: &str) -> f64 {
        let df = self.df.get(token).copied().unwrap_or(0) as f64;
        ((self.names.len() as f64 + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// The name score of `name` and listed name `i`, tokens weighed by [`Index::weight`].
    pub fn score(&self, name: &Name, i: u32) -> f64 {
        score_weighted(name, &self.names[i as usize], &|t| self.weight(t))
    }

    /// The listed names that may be like `name`: every listed name sharing a key that few listed
    /// names have, and every one sharing two keys where a key is common. Calls `f` once per
    /// candidate; `seen` is the caller's scratch space (one slot per listed name, any contents).
    pub fn candidates(&self, name: &Name, seen: &mut Vec<u32>, stamp: u32, mut f: impl FnMut(u32)) {
        if seen.len() != self.names.len() {
            *seen = vec![u32::MAX; self.names.len()];
        }
        let keys = name.keys();
        let mut visit = |list: &[u32]| {
            for &i in list {
                if seen[i as usize] != stamp {
                    seen[i as usize] = stamp;
                    f(i);
                }
            }
        };
        let common = |k: &String| self.single.get(k).is_some_and(|l| l.len() > self.cap);
        for k in &keys {
            if let Some(list) = self.single.get(k).filter(|l| l.len() <= self.cap) {
                visit(list);
            }
        }
        for (x, k1) in keys.iter().enumerate() {
            for k2 in &keys[x + 1..] {
                if common(k1) || common(k2) {
                    if let Some(list) = self.pairs.get(&(k1.clone(), k2.clone())) {
                        visit(list);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_transliterated_and_sorted() {
        assert_eq!(
            normalise("KARIMI, Mohammad Reza").sorted,
            "karimi mohammad reza"
        );
        assert_eq!(
            normalise("Mohammad Reza Karimi").sorted,
            "karimi mohammad reza"
        );
        assert_eq!(
            normalise("Şahin Yılmaz Ticaret Ltd. Şti.").sorted,
            "sahin sti ticaret yilmaz"
        );
        assert_eq!(normalise("ООО «Ромашка»").sorted, "romashka");
        assert!(normalise("Limited LLC").is_empty());
        assert_eq!(identifier("A-123 456 7").as_deref(), Some("A1234567"));
        assert_eq!(identifier("12-3"), None);
    }

    #[test]
    fn scores_rank_exact_misspelt_transliterated_above_a_shared_common_name() {
        let s = |a: &str, b: &str| score(&normalise(a), &normalise(b));
        assert_eq!(s("KARIMI, Mohammad Reza", "Mohammad Reza Karimi"), 1.0);
        assert!(s("KARIMI, Mohammad Reza", "Mohamad Reza Karimy") > 0.92);
        assert!(s("KARIMI, Mohammad Reza", "Мохаммад Реза Карими") > 0.9);
        assert!(s("HASSAN, Ahmed Mohamed", "Ahmed Hassan") < 0.9);
        assert!(s("KARIMI, Mohammad Reza", "Peter Novak") < 0.6);
    }

    #[test]
    fn the_index_finds_names_through_rare_keys_and_pairs_of_common_ones() {
        let mut names: Vec<Name> = (0..300)
            .map(|i| normalise(&format!("Mohammed Trader{i}")))
            .collect();
        names.push(normalise("Mohammed Karimi"));
        let index = Index::new(names);
        let mut seen = Vec::new();
        let mut found = Vec::new();
        index.candidates(&normalise("Mohamed Karimy"), &mut seen, 1, |i| {
            found.push(i)
        });
        assert_eq!(found, vec![300]);
        // "moh" is common (301 names > 256): alone it finds nothing.
        found.clear();
        index.candidates(&normalise("Mohammed"), &mut seen, 2, |i| found.push(i));
        assert!(found.is_empty());
    }
}
