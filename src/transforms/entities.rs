//! Entities: billing accounts that belong together. Accounts are linked when they share a payment
//! instrument, a national ID, a beneficial owner (normalised name and country), an address
//! (normalised), an IP address used for administration within a window, or a FOCUS sub-account.
//! Identifiers are compared as keyed hashes (HMAC-SHA-256 with `CIPWATCH_LINK_KEY`), never raw, and
//! only an 8-character prefix of the hash appears as evidence. Strong link types (profile
//! `strong_links`) join accounts into one entity (connected components); weak ones (`weak_links`)
//! only put the accounts up for review. A value shared by more than `MAX_GROUP` accounts (a NAT
//! address, a placeholder) links nobody: it says nothing about who is behind an account.

use polars::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::profile::Params;
use crate::documents::records::records;
use crate::error::{Context, Result};

/// A value shared by more accounts than this is infrastructure, not identity.
const MAX_GROUP: usize = 50;
/// The key used when `CIPWATCH_LINK_KEY` is not set (documented; set your own in production).
const DEFAULT_KEY: &str = "cipwatch-link-key-set-CIPWATCH_LINK_KEY-in-production";

#[derive(Deserialize)]
struct Customer {
    account_id: String,
    payment_identifier: Option<String>,
    national_id: Option<String>,
    address: Option<String>,
    payment_source: Option<String>,
}

#[derive(Deserialize)]
struct Owner {
    account_id: String,
    name: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize)]
struct Access {
    account_id: String,
    ip_address: String,
    accessed_at: String,
    action: Option<String>,
}

#[derive(Deserialize)]
struct SubAccount {
    billing_account_id: String,
    sub_account_id: Option<String>,
}

/// One link between two accounts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Link {
    a: String,
    b: String,
    kind: String,
    evidence: String,
}

/// The registry and usage tables entities are built from.
pub struct EntityInputs<'a> {
    pub customers: &'a DataFrame,
    pub owners: &'a DataFrame,
    pub access: &'a DataFrame,
    pub usage: &'a DataFrame,
}

/// `entity_members(account_id, entity_id, entity_size, strong_links, weak_links)` for every account
/// in the registry or the usage, and `entities(entity_id, members, size, strong_links, weak_links)`
/// for every entity of two or more accounts or with a weak link.
pub fn build(inputs: &EntityInputs, p: &Params) -> Result<(DataFrame, DataFrame)> {
    let key = std::env::var("CIPWATCH_LINK_KEY").unwrap_or_else(|_| DEFAULT_KEY.to_string());
    let customers: Vec<Customer> = records(inputs.customers, "customers")?;
    let owners: Vec<Owner> = records(inputs.owners, "beneficial owners")?;
    let access: Vec<Access> = records(inputs.access, "access log")?;
    let subs: Vec<SubAccount> = records(
        &inputs
            .usage
            .select(["billing_account_id", "sub_account_id"])
            .or_internal("entities")?,
        "usage",
    )?;

    let mut accounts: BTreeSet<String> = customers.iter().map(|c| c.account_id.clone()).collect();
    accounts.extend(subs.iter().map(|s| s.billing_account_id.clone()));
    let mut groups: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut add = |kind: &str, value: Option<String>, account: &str| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            groups
                .entry((kind.to_string(), hmac(&key, &format!("{kind}:{v}"))))
                .or_default()
                .insert(account.to_string());
        }
    };
    for c in &customers {
        add(
            "payment_instrument",
            c.payment_identifier.as_deref().map(alnum),
            &c.account_id,
        );
        add(
            "national_id",
            c.national_id.as_deref().map(alnum),
            &c.account_id,
        );
        add("address", c.address.as_deref().map(alnum), &c.account_id);
        add(
            "payment_source",
            c.payment_source.as_deref().map(alnum),
            &c.account_id,
        );
    }
    for o in &owners {
        let who = o
            .name
            .as_deref()
            .map(alnum)
            .map(|n| format!("{n}|{}", o.country.as_deref().unwrap_or("")));
        add("beneficial_owner", who, &o.account_id);
    }
    for s in &subs {
        add(
            "sub_account",
            s.sub_account_id.clone(),
            &s.billing_account_id,
        );
    }
    let mut links: Vec<Link> = groups
        .into_iter()
        .filter(|(_, members)| members.len() > 1 && members.len() <= MAX_GROUP)
        .flat_map(|((kind, hash), members)| star(&members, &kind, &hash))
        .collect();
    links.extend(ip_links(&access, &key, p.link_window_days));
    links.sort();
    links.dedup();

    let strong = Params::links(&p.strong_links);
    let weak = Params::links(&p.weak_links);
    let mut forest = Forest::default();
    for l in links.iter().filter(|l| strong.contains(&l.kind)) {
        forest.union(&l.a, &l.b);
    }
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &accounts {
        members.entry(forest.find(a)).or_default().push(a.clone());
    }
    let mut by_account: HashMap<&str, Vec<&Link>> = HashMap::new();
    for l in &links {
        by_account.entry(l.a.as_str()).or_default().push(l);
        by_account.entry(l.b.as_str()).or_default().push(l);
    }
    let evidence = |account: &str, kinds: &[String]| -> String {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mine = by_account
            .get(account)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for l in mine.iter().filter(|l| kinds.contains(&l.kind)) {
            let other = if l.a == account { &l.b } else { &l.a };
            found.insert(format!("{}:{}->{}", l.kind, l.evidence, other));
        }
        found.into_iter().collect::<Vec<_>>().join(";")
    };
    let mut rows: Vec<(String, String, i64, String, String)> = Vec::new();
    for group in members.values() {
        let id = format!("E-{}", group.iter().min().expect("non-empty component"));
        for a in group {
            rows.push((
                a.clone(),
                id.clone(),
                group.len() as i64,
                evidence(a, &strong),
                evidence(a, &weak),
            ));
        }
    }
    let col = |f: fn(&(String, String, i64, String, String)) -> String| {
        rows.iter().map(f).collect::<Vec<_>>()
    };
    let entity_members = DataFrame::new(
        rows.len(),
        vec![
            Column::new("account_id".into(), col(|r| r.0.clone())),
            Column::new("entity_id".into(), col(|r| r.1.clone())),
            Column::new(
                "entity_size".into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new("strong_links".into(), col(|r| r.3.clone())),
            Column::new("weak_links".into(), col(|r| r.4.clone())),
        ],
    )
    .or_internal("entity members")?;
    let entities = entity_members
        .clone()
        .lazy()
        .filter(
            col_expr("entity_size")
                .gt(lit(1))
                .or(col_expr("weak_links").neq(lit(""))),
        )
        .group_by_stable([col_expr("entity_id")])
        .agg([
            col_expr("account_id")
                .sort(Default::default())
                .str()
                .join(";", true)
                .alias("members"),
            col_expr("entity_size").first().alias("size"),
            col_expr("strong_links")
                .filter(col_expr("strong_links").neq(lit("")))
                .str()
                .join(" | ", true)
                .alias("strong_links"),
            col_expr("weak_links")
                .filter(col_expr("weak_links").neq(lit("")))
                .str()
                .join(" | ", true)
                .alias("weak_links"),
        ])
        .sort(["entity_id"], Default::default())
        .collect()
        .or_internal("entities")?;
    Ok((entity_members, entities))
}

fn col_expr(name: &str) -> Expr {
    polars::prelude::col(name)
}

/// Edges from the first account of a group to each other one.
fn star(members: &BTreeSet<String>, kind: &str, hash: &str) -> Vec<Link> {
    let mut it = members.iter();
    let first = it.next().expect("a group has members").clone();
    it.map(|b| Link {
        a: first.clone(),
        b: b.clone(),
        kind: kind.into(),
        evidence: hash[..8].into(),
    })
    .collect()
}

/// Accounts that used one IP address within `window_days` of each other: `admin_ip` when both
/// events are administrative, `access_ip` otherwise.
fn ip_links(access: &[Access], key: &str, window_days: f64) -> Vec<Link> {
    let mut by_ip: HashMap<&str, Vec<&Access>> = HashMap::new();
    for a in access {
        by_ip.entry(a.ip_address.as_str()).or_default().push(a);
    }
    let window = (window_days * 86_400.0) as i64;
    let seconds = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%SZ")
            .map(|d| d.and_utc().timestamp())
            .unwrap_or(0)
    };
    let mut links = Vec::new();
    for (ip, events) in by_ip {
        let distinct: BTreeSet<&str> = events.iter().map(|e| e.account_id.as_str()).collect();
        if distinct.len() < 2 || distinct.len() > MAX_GROUP {
            continue;
        }
        let hash = hmac(key, &format!("ip:{ip}"));
        for (i, x) in events.iter().enumerate() {
            for y in &events[i + 1..] {
                if x.account_id == y.account_id
                    || (seconds(&x.accessed_at) - seconds(&y.accessed_at)).abs() > window
                {
                    continue;
                }
                let admin =
                    x.action.as_deref() == Some("admin") && y.action.as_deref() == Some("admin");
                let (a, b) = if x.account_id < y.account_id {
                    (&x.account_id, &y.account_id)
                } else {
                    (&y.account_id, &x.account_id)
                };
                let kind = if admin { "admin_ip" } else { "access_ip" };
                links.push(Link {
                    a: a.clone(),
                    b: b.clone(),
                    kind: kind.into(),
                    evidence: hash[..8].into(),
                });
            }
        }
    }
    links
}

/// Letters and digits only, upper case: "12 Main St." and "12 MAIN ST" compare equal.
fn alnum(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// HMAC-SHA-256 (RFC 2104) as lower-case hex.
fn hmac(key: &str, message: &str) -> String {
    let mut k = [0u8; 64];
    let kb = key.as_bytes();
    if kb.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(kb));
    } else {
        k[..kb.len()].copy_from_slice(kb);
    }
    let pad = |byte: u8| k.iter().map(|x| x ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Union-find over account ids; the representative of a component is its smallest id.
#[derive(Default)]
struct Forest {
    parent: HashMap<String, String>,
}

impl Forest {
    fn find(&mut self, x: &str) -> String {
        let p = self.parent.get(x).cloned().unwrap_or_else(|| x.to_string());
        if p == x {
            return p;
        }
        let root = self.find(&p);
        self.parent.insert(x.to_string(), root.clone());
        root
    }

    fn union(&mut self, a: &str, b: &str) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent.insert(high, low);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn union_find_joins_chains() {
        let mut f = Forest::default();
        f.union("c", "b");
        f.union("b", "a");
        f.union("x", "y");
        assert_eq!(f.find("c"), "a");
        assert_eq!(f.find("y"), "x");
    }
}
