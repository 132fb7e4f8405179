//! JSON shapes: objects with known fields, strings, ids, lists, booleans and durations, each
//! reporting its problem at its own path.

use super::*;

/// The members of a JSON object, once unknown and repeated fields have been reported.
pub(super) struct Obj<'j> {
    members: &'j [(std::borrow::Cow<'j, str>, Json<'j>)],
}

impl<'j> Obj<'j> {
    /// The member named `name`. Of repeated members (already reported) the last is read, as
    /// JSON parsers in JavaScript, Python and serde_json do, so that the paths of problems
    /// inside it resolve in their view of the document too.
    pub(super) fn get(&self, name: &str) -> Option<&'j Json<'j>> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

impl<'l> Checker<'l> {
    pub(super) fn object<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
        fields: &[&str],
    ) -> Option<Obj<'j>> {
        let Json::Object(members) = json else {
            self.invalid(
                path,
                format!("{what} must be an object, not {}", json.kind()),
            );
            return None;
        };
        let mut seen = 0u32;
        for (key, _) in members {
            let field_path = path.key(key);
            match fields.iter().position(|f| f == key) {
                None => {
                    let hint = closest(key, fields)
                        .map(|f| format!("; did you mean `{f}`?"))
                        .unwrap_or_default();
                    self.invalid(
                        &field_path,
                        format!("unknown field `{key}` in {what}{hint}"),
                    );
                }
                Some(i) => {
                    let bit = 1u32 << i;
                    if seen & bit != 0 {
                        self.invalid(
                            &field_path,
                            format!("field `{key}` appears more than once in {what}"),
                        );
                    }
                    seen |= bit;
                }
            }
        }
        Some(Obj { members })
    }

    pub(super) fn required<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j Json<'j>> {
        let v = obj.get(name);
        if v.is_none() {
            self.invalid(path, format!("missing required field `{name}` in {what}"));
        }
        v
    }

    /// A string, possibly empty.
    pub(super) fn text<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        match json {
            Json::String(s) => Some(s),
            other => {
                self.invalid(
                    path,
                    format!("{what} must be a string, not {}", other.brief()),
                );
                None
            }
        }
    }

    /// An id or name: a non-empty string.
    pub(super) fn id<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        let s = self.text(json, path, what)?;
        if s.is_empty() {
            self.invalid(path, format!("{what} must not be empty"));
            return None;
        }
        Some(s)
    }

    pub(super) fn optional_id<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        let v = obj.get(name)?;
        self.id(v, &path.key(name), what)
    }

    pub(super) fn optional_text<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j str> {
        let v = obj.get(name)?;
        self.text(v, &path.key(name), what)
    }

    pub(super) fn boolean(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        path: &Path<'_>,
        default: bool,
    ) -> bool {
        match obj.get(name) {
            None => default,
            Some(Json::Bool(b)) => *b,
            Some(other) => {
                self.invalid(
                    &path.key(name),
                    format!("`{name}` must be true or false, not {}", other.brief()),
                );
                default
            }
        }
    }

    pub(super) fn array<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        what: &str,
    ) -> Option<&'j [Json<'j>]> {
        match json {
            Json::Array(items) => Some(items),
            other => {
                self.invalid(path, format!("{what} must be a list, not {}", other.kind()));
                None
            }
        }
    }

    /// An optional list of ids; bad entries are reported and left out.
    pub(super) fn id_list<'j>(
        &mut self,
        obj: &Obj<'j>,
        name: &str,
        path: &Path<'_>,
        what: &str,
    ) -> Vec<(usize, &'j str)> {
        let Some(v) = obj.get(name) else {
            return Vec::new();
        };
        let list_path = path.key(name);
        let Some(items) = self.array(v, &list_path, &format!("`{name}`")) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.id(item, &list_path.index(i), what).map(|s| (i, s)))
            .collect()
    }

    /// Reports `duplicate_id` at every later occurrence of an id.
    pub(super) fn unique<'j>(
        &mut self,
        seen: &mut FxHashSet<&'j str>,
        id: &'j str,
        path: &Path<'_>,
        what: &str,
    ) {
        if !seen.insert(id) {
            self.error(
                Code::DuplicateId,
                path,
                format!("{what} `{id}` is defined more than once"),
            );
        }
    }

    /// A duration in whole seconds, from `min` to 2,147,483,647.
    pub(super) fn seconds(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
        what: &str,
        min: u64,
    ) -> Option<u32> {
        match json {
            Json::Number(n) => {
                if let Some(v) = n
                    .as_u64()
                    .filter(|v| (min..=MAX_SECONDS).contains(v))
                    .and_then(|v| u32::try_from(v).ok())
                {
                    return Some(v);
                }
                self.invalid(
                    path,
                    format!(
                        "{what} must be an integer number of seconds from {min} to {MAX_SECONDS}, \
                         not {}",
                        json.brief()
                    ),
                );
            }
            other => self.invalid(
                path,
                format!(
                    "{what} must be an integer number of seconds, not {}",
                    other.brief()
                ),
            ),
        }
        None
    }
}

pub(super) fn member<'j>(json: &'j Json<'j>, name: &str) -> Option<&'j Json<'j>> {
    match json {
        Json::Object(members) => members
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The allowed field nearest to a misspelt one (edit distance at most 2).
pub(super) fn closest<'f>(key: &str, fields: &[&'f str]) -> Option<&'f str> {
    fields
        .iter()
        .map(|f| (distance(key, f), *f))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Levenshtein distance, for short field names only.
pub(super) fn distance(a: &str, b: &str) -> usize {
    if a.len() > 64 {
        return usize::MAX;
    }
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = (prev + usize::from(ca != *cb)).min(above + 1).min(left + 1);
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}
