//! Entities: billing accounts that belong together. Accounts are linked when they share a payment
//! instrument, a national ID, a beneficial owner (normalised name and country), an address
//! (normalised: Unicode NFKC, combining marks left over dropped, letters and digits only, upper
//! case, so NFC, NFD and full-width spellings compare equal), an IP address used for administration within a window, or a FOCUS sub-account.
//! Identifiers are compared as keyed hashes (HMAC-SHA-256 under the plan's secret link key), never
//! raw, and no hash leaves this module: the evidence of a link is its type, an opaque link id
//! numbered within the run (`L1`, `L2`, …) and the counterpart account. IP addresses are compared
//! in canonical form (`std::net::IpAddr`), and two events link only within `link_window_days` of
//! each other (by their `accessed_at` instants). Strong link types (profile
//! `strong_links`) join accounts into one entity (connected components); weak ones (`weak_links`)
//! only put the accounts up for review. A value shared by more than `link_max_accounts` accounts
//! (a NAT address, a placeholder) links nobody: it says nothing about who is behind an account;
//! such values are counted in the run's ledger.

use hmac::Mac;
use polars::prelude::*;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::config::link_key::LinkKey;
use crate::config::profile::Params;
use crate::error::{Context, Result};
use crate::sources::registry::canonical_ip;
use crate::transforms::quarantine::Ledger;

/// One administrative or other access event of the access log.
struct Access {
    account_id: String,
    /// The address in canonical form.
    ip: IpAddr,
    /// Seconds since the Unix epoch (UTC).
    accessed_at_s: i64,
    action: Option<String>,
}

/// The text cells of the named columns of `df`, row by row (null as `None`); read straight from
/// the columns, so a registry of a million customers costs no per-cell conversion.
fn text_rows<const N: usize>(df: &DataFrame, names: [&str; N]) -> Result<Vec<[Option<String>; N]>> {
    let columns: Vec<StringChunked> = names
        .iter()
        .map(|n| {
            df.column(n)
                .and_then(|c| c.cast(&DataType::String))
                .and_then(|c| c.str().cloned())
        })
        .collect::<PolarsResult<_>>()
        .or_internal("entity inputs")?;
    let mut iters: Vec<_> = columns.iter().map(|c| c.iter()).collect();
    Ok((0..df.height())
        .map(|_| std::array::from_fn(|i| iters[i].next().flatten().map(String::from)))
        .collect())
}

/// One link between two accounts (`a` < `b`) of one type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Link {
    a: String,
    b: String,
    kind: String,
}

/// The registry and usage tables entities are built from.
pub struct EntityInputs<'a> {
    pub customers: &'a DataFrame,
    pub owners: &'a DataFrame,
    pub access: &'a DataFrame,
    pub usage: &'a LazyFrame,
}

/// The entities of a run: `members` holds `entity_members(account_id, entity_id, entity_size,
/// strong_links, weak_links)` for every account in the registry or the usage; `entities` holds
/// `entities(entity_id, members, size, strong_links, weak_links)` for every entity of two or more
/// accounts or with a weak link.
///
/// The link columns read `kind:Ln->account` for each link of the account (`;`-separated), `Ln`
/// an opaque id of the link within this run; no hash or value of the identifier appears.
pub struct Links {
    pub members: DataFrame,
    pub entities: DataFrame,
}

/// The entities stage: links accounts by their shared identifiers (keyed hashes under `key`) and
/// IP addresses; values held by more than `link_max_accounts` accounts are counted in the ledger
/// as excluded. Logs one event.
pub fn stage(
    inputs: &EntityInputs,
    p: &Params,
    key: &LinkKey,
    ledger: &mut Ledger,
) -> Result<Links> {
    let max = p.link_max_accounts as usize;
    let values = identifier_values(inputs)?;
    let hashed = hash_values(&values, key);
    let (mut links, shared) = shared_value_links(hashed, max);
    let (ip, shared_ips) = ip_links(&access_events(inputs.access)?, p.link_window_days, max);
    links.extend(ip);
    links.sort();
    links.dedup();
    let reason = format!(
        "held by more than link_max_accounts = {max} accounts: infrastructure, not identity"
    );
    ledger.exclude("entities", "identifier values", reason.clone(), shared);
    ledger.exclude("entities", "IP addresses", reason, shared_ips);
    let members = with_unlinked(
        member_table(&links, &p.strong_links, &p.weak_links)?,
        inputs,
    )?;
    let entities =
        crate::transforms::rows::ENTITIES.present(entity_table(&members)?, "the entities")?;
    tracing::info!(
        stage = "entities",
        linked_entities = entities.height(),
        "entities built"
    );
    Ok(Links { members, entities })
}

/// (kind, normalised value, account) of every identifier in the registry and the usage.
fn identifier_values(inputs: &EntityInputs) -> Result<Vec<(&'static str, String, String)>> {
    const KINDS: [&str; 4] = [
        "payment_instrument",
        "national_id",
        "address",
        "payment_source",
    ];
    let customers = text_rows(
        inputs.customers,
        [
            "account_id",
            "payment_identifier",
            "national_id",
            "address",
            "payment_source",
        ],
    )?;
    let mut values = Vec::new();
    for c in &customers {
        let Some(account) = c[0].as_deref() else {
            continue;
        };
        for (kind, v) in KINDS.iter().zip(&c[1..]) {
            values.extend(v.as_deref().map(|v| (*kind, alnum(v), account.to_string())));
        }
    }
    for [account, name, country] in text_rows(inputs.owners, ["account_id", "name", "country"])? {
        if let (Some(account), Some(name)) = (account, name) {
            let who = format!("{}|{}", alnum(&name), country.as_deref().unwrap_or(""));
            values.push(("beneficial_owner", who, account));
        }
    }
    // Each (account, sub-account) pair once, in the order of its first billing row.
    let pair = [col_expr("billing_account_id"), col_expr("sub_account_id")];
    let subs = inputs
        .usage
        .clone()
        .group_by(pair.clone())
        .agg([col_expr("row_id").min()])
        .sort(["row_id"], Default::default())
        .select(pair)
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .or_internal("entities")?;
    for [account, sub] in text_rows(&subs, ["billing_account_id", "sub_account_id"])? {
        if let (Some(account), Some(sub)) = (account, sub) {
            values.push(("sub_account", sub, account));
        }
    }
    Ok(values)
}

/// Each non-empty value as HMAC-SHA-256 under the link key, in parallel.
fn hash_values<'a>(
    values: &'a [(&'static str, String, String)],
    key: &LinkKey,
) -> Vec<(&'a str, [u8; 32], &'a str)> {
    let mac = key.mac();
    values
        .par_iter()
        .filter(|(_, v, _)| !v.is_empty())
        .map(|(kind, v, account)| {
            let digest = mac
                .clone()
                .chain_update(format!("{kind}:{v}").as_bytes())
                .finalize();
            (*kind, digest.into_bytes().into(), account.as_str())
        })
        .collect()
}

/// One row per linked account: its entity (the connected component over strong links, named
/// after its smallest account id) and the evidence of its strong and weak links.
fn member_table(links: &[Link], strong: &[String], weak: &[String]) -> Result<DataFrame> {
    let link_ids: HashMap<&Link, String> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l, format!("L{}", i + 1)))
        .collect();
    let mut forest = Forest::default();
    for l in links.iter().filter(|l| strong.contains(&l.kind)) {
        forest.union(&l.a, &l.b);
    }
    // Only accounts with a link need work here; every other account is an entity of its own,
    // added by `with_unlinked`.
    let mut members: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut by_account: HashMap<&str, Vec<&Link>> = HashMap::new();
    for l in links {
        by_account.entry(l.a.as_str()).or_default().push(l);
        by_account.entry(l.b.as_str()).or_default().push(l);
    }
    let linked: BTreeSet<&str> = by_account.keys().copied().collect();
    for a in linked {
        members.entry(forest.find(a)).or_default().push(a);
    }
    let evidence = |account: &str, kinds: &[String]| -> String {
        let found: BTreeSet<String> = by_account[account]
            .iter()
            .filter(|l| kinds.contains(&l.kind))
            .map(|l| {
                let other = if l.a == account { &l.b } else { &l.a };
                format!("{}:{}->{}", l.kind, link_ids[l], other)
            })
            .collect();
        found.into_iter().collect::<Vec<_>>().join(";")
    };
    let (mut account, mut entity, mut size, mut strong_ev, mut weak_ev) =
        (vec![], vec![], vec![], vec![], vec![]);
    for group in members.values() {
        let id = format!("E-{}", group.iter().min().expect("non-empty component"));
        for a in group {
            account.push(a.to_string());
            entity.push(id.clone());
            size.push(group.len() as i64);
            strong_ev.push(evidence(a, strong));
            weak_ev.push(evidence(a, weak));
        }
    }
    DataFrame::new(
        account.len(),
        vec![
            Column::new("account_id".into(), account),
            Column::new("entity_id".into(), entity),
            Column::new("entity_size".into(), size),
            Column::new("strong_links".into(), strong_ev),
            Column::new("weak_links".into(), weak_ev),
        ],
    )
    .or_internal("entity members")
}

/// One row per entity of two or more accounts or with a weak link.
fn entity_table(members: &DataFrame) -> Result<DataFrame> {
    members
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
        .or_internal("entities")
}

/// The usage's distinct billing accounts (a streaming pass over its files: the usage is never
/// held whole).
fn distinct_accounts(usage: &LazyFrame) -> Result<DataFrame> {
    usage
        .clone()
        .select([col_expr("billing_account_id")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .or_internal("entity accounts")
}

fn with_unlinked(linked: DataFrame, inputs: &EntityInputs) -> Result<DataFrame> {
    let ids = |lf: LazyFrame, name: &str| lf.select([col_expr(name).alias("account_id")]);
    let all = concat(
        [
            ids(inputs.customers.clone().lazy(), "account_id"),
            ids(
                distinct_accounts(inputs.usage)?.lazy(),
                "billing_account_id",
            ),
        ],
        UnionArgs::default(),
    )
    .or_internal("entity accounts")?
    .filter(col_expr("account_id").is_not_null())
    .unique(None, UniqueKeepStrategy::Any);
    let account = col_expr("account_id");
    all.join(
        linked.lazy(),
        [account.clone()],
        [account.clone()],
        JoinArgs::new(JoinType::Left),
    )
    .with_columns([
        col_expr("entity_id").fill_null(concat_str([lit("E-"), account], "", false)),
        col_expr("entity_size").fill_null(lit(1i64)),
        col_expr("strong_links").fill_null(lit("")),
        col_expr("weak_links").fill_null(lit("")),
    ])
    .sort(["entity_id", "account_id"], Default::default())
    .collect()
    .or_internal("entity members")
}

/// Links between the accounts that share a hashed value (per kind and hash, when more than one
/// account and at most `max` hold it), and how many values more than `max` accounts hold. Sorting
/// groups the hashes without a map entry per value: most values belong to one account.
fn shared_value_links(mut hashed: Vec<(&str, [u8; 32], &str)>, max: usize) -> (Vec<Link>, u64) {
    hashed.par_sort_unstable();
    hashed.dedup();
    let groups: Vec<_> = hashed.chunk_by(|x, y| x.0 == y.0 && x.1 == y.1).collect();
    let too_shared = groups.iter().filter(|g| g.len() > max).count() as u64;
    let links = groups
        .into_iter()
        .filter(|g| g.len() > 1 && g.len() <= max)
        .flat_map(|g| {
            let members: BTreeSet<&str> = g.iter().map(|x| x.2).collect();
            star(&members, g[0].0)
        })
        .collect();
    (links, too_shared)
}

fn col_expr(name: &str) -> Expr {
    polars::prelude::col(name)
}

/// Edges from the first account of a group to each other one.
fn star(members: &BTreeSet<&str>, kind: &str) -> Vec<Link> {
    let mut it = members.iter();
    let first = it.next().expect("a group has members").to_string();
    it.map(|b| Link {
        a: first.clone(),
        b: b.to_string(),
        kind: kind.into(),
    })
    .collect()
}

/// The access log's events with a canonical address and a time; rows without either (which the
/// registry stage has quarantined already) are left out, never given a made-up time.
fn access_events(access: &DataFrame) -> Result<Vec<Access>> {
    let seconds = access
        .clone()
        .lazy()
        .select([col_expr("accessed_at")
            .cast(crate::sources::columns::ts_type())
            .dt()
            .timestamp(TimeUnit::Milliseconds)
            .floor_div(lit(1000i64))
            .alias("s")])
        .collect()
        .or_internal("access log times")?;
    let seconds = seconds
        .column("s")
        .and_then(|c| c.i64().cloned())
        .or_internal("access log times")?;
    let rows = text_rows(access, ["account_id", "ip_address", "action"])?;
    Ok(rows
        .into_iter()
        .zip(seconds.iter())
        .filter_map(|([account, ip, action], at)| {
            Some(Access {
                account_id: account?,
                ip: canonical_ip(&ip?)?,
                accessed_at_s: at?,
                action,
            })
        })
        .collect())
}

/// Accounts that used one IP address within `window_days` of each other: `admin_ip` when both
/// events are administrative, `access_ip` otherwise; and how many addresses more than `max`
/// accounts used (they link nobody).
fn ip_links(access: &[Access], window_days: f64, max: usize) -> (Vec<Link>, u64) {
    let mut by_ip: HashMap<IpAddr, Vec<&Access>> = HashMap::new();
    for a in access {
        by_ip.entry(a.ip).or_default().push(a);
    }
    let window = (window_days * 86_400.0) as i64;
    let (mut links, mut too_shared) = (Vec::new(), 0);
    for events in by_ip.values() {
        let distinct: BTreeSet<&str> = events.iter().map(|e| e.account_id.as_str()).collect();
        if distinct.len() > max {
            too_shared += 1;
        }
        if distinct.len() < 2 || distinct.len() > max {
            continue;
        }
        for (i, x) in events.iter().enumerate() {
            for y in &events[i + 1..] {
                if x.account_id == y.account_id
                    || (x.accessed_at_s - y.accessed_at_s).abs() > window
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
                });
            }
        }
    }
    (links, too_shared)
}

/// Letters and digits only, upper case, in one Unicode form: "12 Main St." and "12 MAIN ST"
/// compare equal, and so do "José" written precomposed (NFC) or with a combining accent (NFD),
/// and "Ａｒｊｕｎ" in full-width letters (compatibility composition, NFKC; combining marks that
/// compose with nothing are dropped).
fn alnum(s: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    s.nfkc()
        .filter(|c| c.is_alphanumeric() && !is_combining_mark(*c))
        .flat_map(char::to_uppercase)
        .collect()
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
    #[test]
    fn names_compare_in_one_unicode_form() {
        let nfc = "Jos\u{e9} N\u{fa}\u{f1}ez";
        let nfd = "Jose\u{301} Nu\u{301}n\u{303}ez";
        assert_eq!(super::alnum(nfc), super::alnum(nfd));
        assert_eq!(
            super::alnum("\u{ff21}\u{ff52}\u{ff4a}\u{ff55}\u{ff4e} Menon"),
            super::alnum("Arjun MENON")
        );
        assert_eq!(super::alnum("12 Main St."), "12MAINST");
    }

    use super::*;

    fn event(account: &str, ip: &str, at: &str, action: &str) -> Access {
        Access {
            account_id: account.into(),
            ip: canonical_ip(ip).unwrap(),
            accessed_at_s: chrono::DateTime::parse_from_rfc3339(at)
                .unwrap()
                .timestamp(),
            action: Some(action.into()),
        }
    }

    #[test]
    fn ip_events_link_only_within_the_window() {
        let far = [
            event("A", "203.0.113.9", "2025-01-01T00:00:00Z", "admin"),
            event("B", "203.0.113.9", "2026-10-01T00:00:00Z", "admin"),
        ];
        assert!(
            ip_links(&far, 30.0, 50).0.is_empty(),
            "21 months apart, 30-day window"
        );
        let near = [
            event("A", "203.0.113.9", "2026-09-20T00:00:00Z", "admin"),
            event("B", "203.0.113.9", "2026-10-01T00:00:00Z", "admin"),
        ];
        let links = ip_links(&near, 30.0, 50).0;
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].kind, "admin_ip");
    }

    #[test]
    fn ipv6_spellings_of_one_address_link() {
        let events = [
            event("A", "2001:db8::1", "2026-10-01T00:00:00Z", "access"),
            event(
                "B",
                "2001:0DB8:0000:0000:0000:0000:0000:0001",
                "2026-10-02T00:00:00Z",
                "admin",
            ),
            event("C", "::ffff:198.51.100.7", "2026-10-01T00:00:00Z", "access"),
            event("D", "198.51.100.7", "2026-10-01T00:00:00Z", "access"),
        ];
        let mut kinds: Vec<(String, String, String)> = ip_links(&events, 30.0, 50)
            .0
            .into_iter()
            .map(|l| (l.a, l.b, l.kind))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("A".into(), "B".into(), "access_ip".into()),
                ("C".into(), "D".into(), "access_ip".into())
            ]
        );
    }

    #[test]
    fn a_value_held_by_more_accounts_than_the_limit_links_nobody_and_is_counted() {
        let hashed = vec![
            ("address", [1u8; 32], "A"),
            ("address", [1u8; 32], "B"),
            ("address", [1u8; 32], "C"),
            ("national_id", [2u8; 32], "A"),
            ("national_id", [2u8; 32], "D"),
        ];
        let (links, too_shared) = shared_value_links(hashed.clone(), 2);
        assert_eq!(too_shared, 1);
        let pairs: Vec<(&str, &str, &str)> = links
            .iter()
            .map(|l| (l.a.as_str(), l.b.as_str(), l.kind.as_str()))
            .collect();
        assert_eq!(pairs, [("A", "D", "national_id")]);
        let (links, too_shared) = shared_value_links(hashed, 3);
        assert_eq!((links.len(), too_shared), (3, 0));
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
