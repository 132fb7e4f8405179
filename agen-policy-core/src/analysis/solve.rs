//! Exact reasoning over targeting conditions: is there a request whose attributes make a given
//! set of conditions true (and others not true)?
//!
//! Attributes are independent variables: every distinct attribute name can be given its own
//! value through a context key spelled exactly so (SPEC §2.2), and built-in attributes are
//! either fixed by the frame or free strings of their shape. An attribute's value is absent, or
//! present with a list of scalar elements (a scalar is a list of one). A condition then says, of
//! those elements:
//!
//! | condition | true | not true |
//! |---|---|---|
//! | `op` | some element is comparable and matches | no element matches |
//! | `op`, negated | some element is comparable, none matches | none is comparable, or some matches |
//! | `exists` | present | absent |
//! | `exists`, negated | absent | present |
//!
//! so a conjunction of such facts on one attribute is satisfiable exactly when each "some
//! element" requirement can be met by a scalar that also meets every "no element" requirement
//! (elements of a list are independent). That one-scalar question is answered by testing
//! candidate scalars with the engine's own comparison ([`Test::test`]): a candidate that passes
//! is a certain witness. When none passes, the answer is "unsatisfiable" only where the
//! candidates are provably complete (below); anywhere else it is unknown, never a guess.
//!
//! **Completeness.** Booleans: both are tried. Numbers under `equals`, `lt`, `lte`, `gt`, `gte`:
//! every value, the next number above and below it (integers and doubles both), which meets
//! every interval the values cut the number line into. Strings under `equals`, `matches`,
//! `starts_with`, `ends_with` and `contains` (all with the same `ignore_case`), with one
//! "some element" requirement or one of finitely many strings: each pattern of the requirement
//! (a prefix `v` is the pattern `v*`, and so on) instantiated with its wildcards taken by a
//! character no value holds, in every run length up to one more than the longest value; a
//! string any condition's literal characters could tell apart from such a run is matched by
//! the same patterns. `regex`, `before`, `after`, the `semver_*` operators and `in_cidr`, or
//! mixed case settings, give candidates but no completeness: "unknown" when none passes.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Number, Value};

use crate::condition::{CompiledCondition, Outcome, Scalar};
use crate::model::{Condition, Operator};
use crate::ops::cidr::Block;
use crate::ops::number;

/// A character no condition value holds (a private-use code point, which case folding leaves
/// as it is): what a wildcard takes in a candidate.
const FRESH: char = '\u{e000}';
/// Candidate strings are at most this many characters longer than the longest value.
const MAX_FRESH_LEN: usize = 256;
/// Instantiations of one pattern.
const MAX_INSTANCES: usize = 4096;
/// Candidates tried for one element.
const MAX_CANDIDATES: usize = 50_000;
/// Branches a search may visit before it gives up with "unknown".
const MAX_STEPS: usize = 50_000;

/// One condition: its compiled form (for the engine's comparison) and its model (values,
/// operator, flags).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cond<'a> {
    /// The set the condition belongs to (its attribute index is into that set's table).
    pub(crate) set: &'a crate::PolicySet,
    pub(crate) compiled: &'a CompiledCondition,
    pub(crate) model: &'a Condition,
}

/// The shape an attribute's value can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A context attribute: absent, a scalar, or a list of any values.
    Any,
    /// A context attribute restricted to absent or one scalar (to tell rules that only lists
    /// satisfy).
    Scalar,
    /// Always exactly one string (`user.id`, `connector.id`, `tool.name`).
    OneString,
    /// Absent or one string (`user.email`, `user.name`).
    OptString,
    /// Always present, a list of strings (`user.groups`).
    StringList,
}

/// What is fixed about the requests a question ranges over.
pub(crate) trait Frame {
    /// The outcome of a condition whose attribute the frame fixes, else `None`.
    fn constant(&self, c: Cond<'_>) -> Option<Outcome>;
    /// The shape of a free attribute's value.
    fn kind(&self, attribute: &str) -> Kind;
}

#[derive(Debug, Clone, Copy)]
struct Elem<'a> {
    cond: Cond<'a>,
    /// Only "comparable" (any value the operator can compare), not "matches".
    comparable_only: bool,
}

impl Elem<'_> {
    fn holds(&self, v: &Value) -> bool {
        let Some(s) = scalar(v) else {
            return false;
        };
        match self.cond.compiled.test.test(s) {
            Some(m) => self.comparable_only || m,
            None => false,
        }
    }
}

fn scalar(v: &Value) -> Option<Scalar<'_>> {
    match v {
        Value::String(s) => Some(Scalar::Str(s)),
        Value::Number(n) => Some(Scalar::Num(n)),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Fact<'a> {
    Present(bool),
    /// Some element satisfies it.
    Some(Elem<'a>),
    /// No element satisfies it.
    No(Elem<'a>),
}

#[derive(Debug, Clone, Copy)]
struct Atom<'a> {
    attribute: &'a str,
    fact: Fact<'a>,
}

type Alternative<'a> = Vec<Atom<'a>>;

/// A conjunction of clauses, each a disjunction of alternatives (conjunctions of facts).
#[derive(Debug, Default)]
pub(crate) struct Question<'a> {
    clauses: Vec<Vec<Alternative<'a>>>,
    impossible: bool,
}

/// A satisfying assignment: each attribute that must be present, with its value; attributes
/// not listed are absent.
pub(crate) type Witness = BTreeMap<String, Value>;

/// The answer to a [`Question`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// Satisfiable; the witness satisfies every condition as asked (checked by the engine's
    /// comparison on each element).
    Sat(Witness),
    /// Certainly unsatisfiable.
    Unsat,
    /// Not decided: what could not be reasoned about.
    Unknown(Vec<String>),
}

/// One condition's wanted outcome as alternatives of facts, or a constant.
enum Literal<'a> {
    Const(bool),
    Alternatives(Vec<Alternative<'a>>),
}

fn literal<'a>(c: Cond<'a>, want_true: bool, frame: &dyn Frame) -> Literal<'a> {
    if let Some(o) = frame.constant(c) {
        return Literal::Const(o.holds() == want_true);
    }
    let attribute: &str = &c.model.attribute;
    let atom = |fact| Atom { attribute, fact };
    let negate = c.model.negate;
    if c.model.operator == Operator::Exists {
        return Literal::Alternatives(vec![vec![atom(Fact::Present(want_true != negate))]]);
    }
    let matches = Elem {
        cond: c,
        comparable_only: false,
    };
    let comparable = Elem {
        cond: c,
        comparable_only: true,
    };
    Literal::Alternatives(match (want_true, negate) {
        (true, false) => vec![vec![atom(Fact::Some(matches))]],
        (true, true) => vec![vec![atom(Fact::Some(comparable)), atom(Fact::No(matches))]],
        (false, false) => vec![vec![atom(Fact::No(matches))]],
        (false, true) => vec![
            vec![atom(Fact::No(comparable))],
            vec![atom(Fact::Some(matches))],
        ],
    })
}

impl<'a> Question<'a> {
    /// A question with no constraint (satisfiable).
    pub(crate) fn new() -> Self {
        Question::default()
    }

    /// Adds "some rule holds" (`matched`) or "no rule holds" (`!matched`) of a targeting's
    /// rules, each a list of conditions.
    pub(crate) fn rules(&mut self, rules: &[Vec<Cond<'a>>], matched: bool, frame: &dyn Frame) {
        if matched {
            let mut clause = Vec::new();
            for rule in rules {
                let mut alternative = Vec::new();
                let mut possible = true;
                for c in rule {
                    match literal(*c, true, frame) {
                        Literal::Const(true) => {}
                        Literal::Const(false) => possible = false,
                        Literal::Alternatives(alts) => {
                            // A true literal is a single alternative.
                            alternative.extend(alts.into_iter().flatten());
                        }
                    }
                }
                if possible {
                    if alternative.is_empty() {
                        // This rule always holds.
                        return;
                    }
                    clause.push(alternative);
                }
            }
            self.push(clause);
        } else {
            'rules: for rule in rules {
                let mut clause = Vec::new();
                for c in rule {
                    match literal(*c, false, frame) {
                        Literal::Const(true) => continue 'rules,
                        Literal::Const(false) => {}
                        Literal::Alternatives(alts) => clause.extend(alts),
                    }
                }
                self.push(clause);
            }
        }
    }

    fn push(&mut self, clause: Vec<Alternative<'a>>) {
        if clause.is_empty() {
            self.impossible = true;
        } else {
            self.clauses.push(clause);
        }
    }

    /// Decides the question.
    pub(crate) fn solve(&self, frame: &dyn Frame) -> Answer {
        if self.impossible {
            return Answer::Unsat;
        }
        let mut order: Vec<&Vec<Alternative<'a>>> = self.clauses.iter().collect();
        order.sort_by_key(|c| c.len());
        let mut search = Search {
            frame,
            state: BTreeMap::new(),
            steps: 0,
            unknown: Vec::new(),
        };
        match search.go(&order) {
            Some(w) => Answer::Sat(w),
            None if search.unknown.is_empty() => Answer::Unsat,
            None => {
                search.unknown.sort();
                search.unknown.dedup();
                Answer::Unknown(search.unknown)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Requirements<'a> {
    present: Option<bool>,
    conflict: bool,
    some: Vec<Elem<'a>>,
    no: Vec<Elem<'a>>,
}

impl<'a> Requirements<'a> {
    fn add(&mut self, fact: Fact<'a>) {
        match fact {
            Fact::Present(p) => {
                if self.present.is_some_and(|q| q != p) {
                    self.conflict = true;
                }
                self.present = Some(p);
            }
            Fact::Some(e) => self.some.push(e),
            Fact::No(e) => self.no.push(e),
        }
    }
}

enum AttrAnswer {
    Sat(Option<Value>),
    Unsat,
    Unknown(String),
}

struct Search<'f, 'a> {
    frame: &'f dyn Frame,
    state: BTreeMap<&'a str, Requirements<'a>>,
    steps: usize,
    unknown: Vec<String>,
}

impl<'a> Search<'_, 'a> {
    fn go(&mut self, clauses: &[&Vec<Alternative<'a>>]) -> Option<Witness> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.unknown
                .push("too many combinations of conditions to examine".to_owned());
            return None;
        }
        let Some((clause, rest)) = clauses.split_first() else {
            return self.leaf();
        };
        for alternative in clause.iter() {
            let saved = self.state.clone();
            let mut dead = false;
            for atom in alternative {
                self.state.entry(atom.attribute).or_default().add(atom.fact);
            }
            for atom in alternative {
                if let Some(req) = self.state.get(atom.attribute) {
                    let kind = self.frame.kind(atom.attribute);
                    if let AttrAnswer::Unsat = check(kind, req) {
                        dead = true;
                        break;
                    }
                }
            }
            if !dead {
                if let Some(w) = self.go(rest) {
                    return Some(w);
                }
            }
            self.state = saved;
            if self.steps > MAX_STEPS {
                return None;
            }
        }
        None
    }

    fn leaf(&mut self) -> Option<Witness> {
        let mut witness = Witness::new();
        let mut unknown = false;
        for (attribute, req) in &self.state {
            match check(self.frame.kind(attribute), req) {
                AttrAnswer::Sat(Some(v)) => {
                    witness.insert((*attribute).to_owned(), v);
                }
                AttrAnswer::Sat(None) => {}
                AttrAnswer::Unsat => return None,
                AttrAnswer::Unknown(reason) => {
                    unknown = true;
                    self.unknown.push(format!("`{attribute}`: {reason}"));
                }
            }
        }
        if unknown {
            None
        } else {
            Some(witness)
        }
    }
}

fn check(kind: Kind, req: &Requirements<'_>) -> AttrAnswer {
    if req.conflict {
        return AttrAnswer::Unsat;
    }
    let strings = matches!(kind, Kind::OneString | Kind::OptString | Kind::StringList);
    let always_present = matches!(kind, Kind::OneString | Kind::StringList);
    if req.present == Some(false) {
        return if always_present || !req.some.is_empty() {
            AttrAnswer::Unsat
        } else {
            AttrAnswer::Sat(None)
        };
    }
    match kind {
        Kind::Any | Kind::StringList => {
            if req.some.is_empty() {
                if req.present == Some(true) || kind == Kind::StringList {
                    // One scalar that breaks no requirement reads better; a list with no
                    // comparable element breaks none at all.
                    return AttrAnswer::Sat(Some(match element(&[], &req.no, strings) {
                        Found::Yes(v) => v,
                        _ => Value::Array(Vec::new()),
                    }));
                }
                return AttrAnswer::Sat(None);
            }
            let mut values = Vec::new();
            for e in &req.some {
                match element(std::slice::from_ref(e), &req.no, strings) {
                    Found::Yes(v) => values.push(v),
                    Found::No => return AttrAnswer::Unsat,
                    Found::Unknown(r) => return AttrAnswer::Unknown(r),
                }
            }
            if values.len() == 1 && kind == Kind::Any {
                AttrAnswer::Sat(values.pop())
            } else {
                AttrAnswer::Sat(Some(Value::Array(values)))
            }
        }
        Kind::Scalar | Kind::OneString | Kind::OptString => {
            if req.some.is_empty() && req.present != Some(true) && !always_present {
                return AttrAnswer::Sat(None);
            }
            match element(&req.some, &req.no, strings) {
                Found::Yes(v) => AttrAnswer::Sat(Some(v)),
                Found::No => AttrAnswer::Unsat,
                Found::Unknown(r) => AttrAnswer::Unknown(r),
            }
        }
    }
}

enum Found {
    Yes(Value),
    No,
    Unknown(String),
}

/// A scalar that satisfies every `some` element and none of `no`.
fn element(some: &[Elem<'_>], no: &[Elem<'_>], strings_only: bool) -> Found {
    let conds: Vec<Cond<'_>> = some.iter().chain(no).map(|e| e.cond).collect();
    let mut candidates = Candidates::new(&conds);
    let longest = candidates.longest;
    for e in some.iter().chain(no) {
        candidates.add_condition(e.cond, longest);
    }
    for len in 0..=longest + 1 {
        candidates.push(Value::String(fresh(len)));
    }
    candidates.push(Value::from(0));
    candidates.push(Value::Bool(true));
    candidates.push(Value::Bool(false));
    for v in candidates.values.iter().chain(&candidates.late) {
        if strings_only && !v.is_string() {
            continue;
        }
        if some.iter().all(|e| e.holds(v)) && !no.iter().any(|e| e.holds(v)) {
            return Found::Yes(v.clone());
        }
    }
    match candidates.exactness(some) {
        None => Found::No,
        Some(reason) => Found::Unknown(reason),
    }
}

fn fresh(len: usize) -> String {
    std::iter::repeat_n(FRESH, len).collect()
}

struct Candidates<'c> {
    conds: &'c [Cond<'c>],
    values: Vec<Value>,
    /// Numbers JSON text does not carry exactly (read back, they are another double): tried
    /// last, so that witnesses are, where possible, requests that can be written down.
    late: Vec<Value>,
    seen: HashSet<String>,
    /// Characters of the longest string value, bounded.
    longest: usize,
    truncated: bool,
}

#[derive(Clone, Copy)]
enum Token {
    Char(char),
    One,
    Star,
}

impl<'c> Candidates<'c> {
    fn new(conds: &'c [Cond<'c>]) -> Self {
        let mut longest = 0;
        let mut truncated = false;
        for c in conds {
            for v in &c.model.values {
                if let Value::String(s) = v {
                    let n = s.chars().count();
                    if n > MAX_FRESH_LEN {
                        truncated = true;
                    }
                    longest = longest.max(n.min(MAX_FRESH_LEN));
                }
            }
        }
        Candidates {
            conds,
            values: Vec::new(),
            late: Vec::new(),
            seen: HashSet::new(),
            longest,
            truncated,
        }
    }

    fn push(&mut self, v: Value) {
        if self.values.len() >= MAX_CANDIDATES {
            self.truncated = true;
            return;
        }
        let text = v.to_string();
        let exact_in_text =
            !v.is_number() || serde_json::from_str::<Value>(&text).is_ok_and(|back| back == v);
        if self.seen.insert(text) {
            if exact_in_text {
                self.values.push(v);
            } else {
                self.late.push(v);
            }
        }
    }

    fn add_condition(&mut self, c: Cond<'_>, longest: usize) {
        let op = c.model.operator;
        for v in &c.model.values {
            match (op, v) {
                (Operator::Equals, Value::String(s)) => {
                    self.push(v.clone());
                    if c.model.ignore_case {
                        self.push(Value::String(s.to_uppercase()));
                        self.push(Value::String(s.to_lowercase()));
                    }
                }
                (Operator::Equals, Value::Number(n)) => self.numbers(n),
                (Operator::Equals, _) => self.push(v.clone()),
                (Operator::Matches, Value::String(p)) => self.pattern(&glob_tokens(p), longest),
                (Operator::StartsWith, Value::String(s)) => {
                    let mut t = literal_tokens(s);
                    t.push(Token::Star);
                    self.pattern(&t, longest);
                }
                (Operator::EndsWith, Value::String(s)) => {
                    let mut t = vec![Token::Star];
                    t.extend(literal_tokens(s));
                    self.pattern(&t, longest);
                }
                (Operator::Contains, Value::String(s)) => {
                    let mut t = vec![Token::Star];
                    t.extend(literal_tokens(s));
                    t.push(Token::Star);
                    self.pattern(&t, longest);
                }
                (Operator::Regex, Value::String(s)) => {
                    self.push(Value::String(
                        s.chars().filter(|c| !"^$\\".contains(*c)).collect(),
                    ));
                }
                (Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte, Value::Number(n)) => {
                    self.numbers(n);
                }
                (Operator::Before | Operator::After, _) => {
                    self.push(v.clone());
                    if let Some(t) = crate::evidence::parse_timestamp(v) {
                        for d in [-1, 0, 1] {
                            if let Some(x) = t.checked_add(d) {
                                self.push(Value::from(x));
                            }
                        }
                    }
                }
                (
                    Operator::SemverEq | Operator::SemverLt | Operator::SemverGt,
                    Value::String(s),
                ) => {
                    self.push(v.clone());
                    self.versions(s);
                }
                (Operator::InCidr, Value::String(s)) => self.addresses(s),
                _ => {}
            }
        }
    }

    fn numbers(&mut self, n: &Number) {
        self.push(Value::Number(n.clone()));
        if let Some(i) = number::as_integer(n) {
            for j in [i.checked_sub(1), i.checked_add(1)].into_iter().flatten() {
                if let Ok(x) = i64::try_from(j) {
                    self.push(Value::from(x));
                } else if let Ok(x) = u64::try_from(j) {
                    self.push(Value::from(x));
                }
            }
        }
        if let Some(f) = n.as_f64() {
            for g in [f, f.next_up(), f.next_down()] {
                if let Some(x) = Number::from_f64(g) {
                    self.push(Value::Number(x));
                }
            }
        }
    }

    fn versions(&mut self, s: &str) {
        let core = s.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<u64> = core.split('.').filter_map(|p| p.parse().ok()).collect();
        if parts.is_empty() {
            return;
        }
        let show = |p: &[u64]| p.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
        self.push(Value::String(format!("{}-0", show(&parts))));
        for i in 0..parts.len() {
            let mut up = parts.clone();
            let mut down = parts.clone();
            if let (Some(u), Some(d)) = (up.get_mut(i), down.get_mut(i)) {
                *u = u.saturating_add(1);
                if *d > 0 {
                    *d -= 1;
                    self.push(Value::String(show(&down)));
                }
                self.push(Value::String(show(&up)));
            }
        }
        self.push(Value::String("0.0.0".to_owned()));
    }

    fn addresses(&mut self, s: &str) {
        let Some(block) = Block::parse(s) else {
            return;
        };
        let addrs: Vec<IpAddr> = match block {
            Block::V4 { network, mask } => {
                let last = network | !mask;
                [
                    Some(network),
                    Some(last),
                    network.checked_sub(1),
                    last.checked_add(1),
                ]
                .into_iter()
                .flatten()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
                .collect()
            }
            Block::V6 { network, mask } => {
                let last = network | !mask;
                [
                    Some(network),
                    Some(last),
                    network.checked_sub(1),
                    last.checked_add(1),
                ]
                .into_iter()
                .flatten()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                .collect()
            }
        };
        let extremes = [
            IpAddr::V4(Ipv4Addr::from(0)),
            IpAddr::V4(Ipv4Addr::from(u32::MAX)),
            IpAddr::V6(Ipv6Addr::from(0)),
            IpAddr::V6(Ipv6Addr::from(u128::MAX)),
        ];
        for a in addrs.into_iter().chain(extremes) {
            self.push(Value::String(a.to_string()));
        }
    }

    /// The strings a pattern matches with its wildcards taken by fresh characters, every run
    /// length up to `longest + 1`.
    fn pattern(&mut self, tokens: &[Token], longest: usize) {
        let stars = tokens.iter().filter(|t| matches!(t, Token::Star)).count();
        let mut lengths: Vec<usize> = (0..=longest + 1).collect();
        let combos = |n: usize| {
            u32::try_from(stars)
                .ok()
                .and_then(|s| n.checked_pow(s))
                .unwrap_or(usize::MAX)
        };
        if combos(lengths.len()) > MAX_INSTANCES {
            self.truncated = true;
            lengths = vec![0, 1, longest + 1];
            if combos(lengths.len()) > MAX_INSTANCES {
                lengths = vec![0, longest + 1];
            }
        }
        let total = combos(lengths.len()).min(MAX_INSTANCES);
        for mut k in 0..total {
            let mut s = String::new();
            for t in tokens {
                match t {
                    Token::Char(c) => s.push(*c),
                    Token::One => s.push(FRESH),
                    Token::Star => {
                        let n = lengths.get(k % lengths.len()).copied().unwrap_or(0);
                        k /= lengths.len();
                        s.push_str(&fresh(n));
                    }
                }
            }
            self.push(Value::String(s));
        }
    }

    /// `None` when the candidates were complete for these conditions (so that none passing
    /// proves there is no such scalar); else why they were not.
    fn exactness(&self, some: &[Elem<'_>]) -> Option<String> {
        if self.truncated {
            return Some("too many or too long values to examine them all".to_owned());
        }
        if !self.conds.is_empty()
            && self
                .conds
                .iter()
                .all(|c| c.model.operator == Operator::InCidr)
        {
            // Blocks cut each family's address space into intervals whose ends (and the
            // family's first and last address) are all candidates.
            return None;
        }
        let mut case: Option<bool> = None;
        for c in self.conds {
            let op = c.model.operator;
            match op {
                Operator::Equals
                | Operator::Matches
                | Operator::StartsWith
                | Operator::EndsWith
                | Operator::Contains => {
                    let strings =
                        op != Operator::Equals || c.model.values.iter().any(Value::is_string);
                    if strings {
                        if case.is_some_and(|x| x != c.model.ignore_case) {
                            return Some(
                                "conditions compare strings with and without `ignore_case`"
                                    .to_owned(),
                            );
                        }
                        case = Some(c.model.ignore_case);
                    }
                }
                Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte | Operator::Exists => {}
                other => {
                    return Some(format!(
                        "`{other}` is beyond exact reasoning (`{}`)",
                        c.model.attribute
                    ))
                }
            }
        }
        if some.len() > 1 && !some.iter().any(|e| finite(e)) {
            return Some("several patterns must hold on one value".to_owned());
        }
        None
    }
}

/// Whether an element requirement holds of finitely many strings and no other scalar type's
/// infinitely many: `equals`, or `matches` with no wildcard.
fn finite(e: &Elem<'_>) -> bool {
    if e.comparable_only {
        return false;
    }
    match e.cond.model.operator {
        Operator::Equals => true,
        Operator::Matches => e.cond.model.values.iter().all(|v| {
            v.as_str()
                .is_some_and(|p| glob_tokens(p).iter().all(|t| matches!(t, Token::Char(_))))
        }),
        _ => false,
    }
}

fn literal_tokens(s: &str) -> Vec<Token> {
    s.chars().map(Token::Char).collect()
}

fn glob_tokens(p: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => match chars.next() {
                Some(n) => Token::Char(n),
                None => break,
            },
            c => Token::Char(c),
        });
    }
    out
}

/// A witness as a request context: each attribute as one top-level key spelled exactly so.
pub(crate) fn context_of(witness: &Witness) -> Map<String, Value> {
    witness
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
