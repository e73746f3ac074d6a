//! Derivations from text columns whose values repeat (units, SKU details, identification texts),
//! computed once per distinct text of a batch instead of once per row, where a regular expression
//! per row would dominate the pass over the billing files.

use polars::prelude::*;

/// Distinct texts remembered per batch. Identification texts repeat (one description per SKU),
/// so a batch of rows holds few of them and each pattern runs once per distinct text, not per row;
/// past this many distinct texts in a batch the rest are matched directly.
const CACHE_LIMIT: usize = 1 << 14;

/// `f` of each text cell of a column as an index into the distinct results, computed once per
/// distinct text of the batch; a cell that repeats the one before (hourly rows of one resource)
/// is not even looked up. `None` for a null cell, or where `wanted` says the row needs no answer.
pub fn per_text<T>(
    c: &StringChunked,
    wanted: impl Fn(usize) -> bool,
    f: impl Fn(&str) -> T,
) -> (Vec<Option<u32>>, Vec<T>) {
    let mut results = Vec::new();
    let mut seen: PlHashMap<&str, u32> = PlHashMap::default();
    let mut last: Option<(&str, u32)> = None;
    let index = c
        .iter()
        .enumerate()
        .map(|(row, v)| {
            let v = v.filter(|_| wanted(row))?;
            if let Some((_, i)) = last.filter(|(text, _)| *text == v) {
                return Some(i);
            }
            let i = match seen.get(v) {
                Some(i) => *i,
                None => {
                    results.push(f(v));
                    let i = (results.len() - 1) as u32;
                    if seen.len() < CACHE_LIMIT {
                        seen.insert(v, i);
                    }
                    i
                }
            };
            last = Some((v, i));
            Some(i)
        })
        .collect();
    (index, results)
}

/// `f` of each cell of a text expression, computed once per distinct text of a batch (`per_text`):
/// for derivations from columns whose values repeat (units, SKU details), where a regex per row
/// would dominate. Null where the cell is null or `f` gives `None`; `dtype` is the output type.
pub fn per_distinct<T, F>(text: Expr, dtype: DataType, f: F) -> Expr
where
    T: Clone + Send + Sync + 'static,
    F: Fn(&str) -> Option<T> + Send + Sync + 'static,
    Series: NamedFrom<Vec<Option<T>>, [Option<T>]>,
{
    text.map(
        move |c| {
            let (index, results) = per_text(c.str()?, |_| true, &f);
            let values: Vec<Option<T>> = index
                .iter()
                .map(|i| i.and_then(|i| results[i as usize].clone()))
                .collect();
            Ok(Series::new(c.name().clone(), values).into_column())
        },
        move |_, field| Ok(Field::new(field.name().clone(), dtype.clone())),
    )
}
