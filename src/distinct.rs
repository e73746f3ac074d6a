//! Derivations from text columns whose values repeat, computed once per distinct text of a batch
//! instead of once per row: the billing's units, SKU details and identification texts, where a
//! regular expression per row would dominate the pass over the billing files, and the account ids,
//! groups and classes of the output tables that are masked before they are written. It depends on
//! Polars alone, so that both the sources and the masking of personal data can use it.

use polars::prelude::*;

/// Distinct texts remembered per batch. Identification texts repeat (one description per SKU),
/// so a batch of rows holds few of them and each pattern runs once per distinct text, not per row;
/// past this many distinct texts in a batch the rest are matched directly.
const CACHE_LIMIT: usize = 1 << 14;

/// `f` of each text cell of a column as an index into the distinct results, computed once per
/// distinct text of the batch. `None` for a null cell, or where `wanted` says the row needs no answer.
///
/// Most cells are found without reading their text: within one Arrow array, two cells with the same
/// 16-byte view hold the same text (a short text is inside its view; a long one is the same bytes
/// of the same buffer), and texts decoded from a Parquet dictionary page share their views. Only a
/// view not seen before in the array is looked up by its text. A cell that repeats the one before
/// (hourly rows of one resource) is not even looked up.
pub fn per_text<T>(
    c: &StringChunked,
    wanted: impl Fn(usize) -> bool,
    f: impl Fn(&str) -> T,
) -> (Vec<Option<u32>>, Vec<T>) {
    let mut distinct = Distinct {
        results: Vec::new(),
        seen: PlHashMap::default(),
        f,
    };
    let mut index = Vec::with_capacity(c.len());
    for arr in c.downcast_iter() {
        let first_row = index.len();
        let mut by_view: PlHashMap<u128, u32> = PlHashMap::default();
        let mut last: Option<(u128, u32)> = None;
        for (row, (v, view)) in arr.iter().zip(arr.views().iter()).enumerate() {
            let Some(v) = v.filter(|_| wanted(first_row + row)) else {
                index.push(None);
                continue;
            };
            let key = view.as_u128();
            let i = match last.filter(|(k, _)| *k == key) {
                Some((_, i)) => i,
                None => match by_view.get(&key) {
                    Some(i) => *i,
                    None => {
                        let i = distinct.of(v);
                        if by_view.len() < CACHE_LIMIT {
                            by_view.insert(key, i);
                        }
                        i
                    }
                },
            };
            last = Some((key, i));
            index.push(Some(i));
        }
    }
    (index, distinct.results)
}

/// The distinct texts met so far and `f` of each.
struct Distinct<'a, T, F> {
    results: Vec<T>,
    seen: PlHashMap<&'a str, u32>,
    f: F,
}

impl<'a, T, F: Fn(&str) -> T> Distinct<'a, T, F> {
    /// The index of `v`'s result, computing it when `v` is new (past `CACHE_LIMIT` texts, a new
    /// text is computed again each time).
    fn of(&mut self, v: &'a str) -> u32 {
        if let Some(i) = self.seen.get(v) {
            return *i;
        }
        self.results.push((self.f)(v));
        let i = (self.results.len() - 1) as u32;
        if self.seen.len() < CACHE_LIMIT {
            self.seen.insert(v, i);
        }
        i
    }
}

/// `f` of each cell of a text expression, computed once per distinct text of a batch (`per_text`):
/// for derivations from columns whose values repeat (units, SKU details), where a regex per row
/// would dominate. Null where the cell is null or `f` gives `None`; `dtype` is the output type.
pub fn per_distinct<T, F>(text: Expr, dtype: DataType, f: F) -> Expr
where
    T: Send + Sync + 'static,
    F: Fn(&str) -> Option<T> + Send + Sync + 'static,
    Series: NamedFrom<Vec<Option<T>>, [Option<T>]>,
{
    text.map(
        move |c| {
            let (index, results) = per_text(c.str()?, |_| true, &f);
            // Each cell takes its text's result by index: no value is built per row.
            let distinct = Series::new(c.name().clone(), results);
            let index = IdxCa::from_iter_options(PlSmallStr::EMPTY, index.into_iter());
            Ok(distinct.take(&index)?.into_column())
        },
        move |_, field| Ok(Field::new(field.name().clone(), dtype.clone())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_text_is_computed_once_across_chunks_views_and_nulls() {
        let long = "$98.32 per On Demand Linux p5.48xlarge Instance Hour";
        let mut a = StringChunked::new(
            "t".into(),
            [Some(long), Some("short"), None, Some(long), Some("short")],
        );
        // A second chunk: the same texts in other buffers, so other views.
        a.append(&StringChunked::new(
            "t".into(),
            [Some(long), Some("other"), Some(long)],
        ))
        .unwrap();
        assert_eq!(a.chunks().len(), 2);
        let calls = std::cell::Cell::new(0);
        let (index, results) = per_text(
            &a,
            |row| row != 4,
            |v| {
                calls.set(calls.get() + 1);
                v.len()
            },
        );
        assert_eq!(
            index,
            [
                Some(0),
                Some(1),
                None,
                Some(0),
                None,
                Some(0),
                Some(2),
                Some(0)
            ]
        );
        assert_eq!(results, [long.len(), 5, 5]);
        assert_eq!(calls.get(), 3, "once per distinct text");
    }

    #[test]
    fn per_distinct_gives_each_cell_its_texts_result() {
        let df = df!("t" => [Some("2"), None, Some("x"), Some("2")]).unwrap();
        let out = df
            .lazy()
            .select([per_distinct(col("t"), DataType::Float64, |v| {
                v.parse::<f64>().ok()
            })])
            .collect()
            .unwrap();
        let v: Vec<Option<f64>> = out.column("t").unwrap().f64().unwrap().iter().collect();
        assert_eq!(v, [Some(2.0), None, None, Some(2.0)]);
    }
}
