//! The search behind [`crate::Prefilter::clauses_ignoring_case`]: text is a candidate when,
//! for one of several alternatives (a hunt's rules), it holds each of the alternative's
//! clauses, in any ASCII case.
//!
//! Text with `\u` or a character that lowercases to ASCII is a candidate whatever it holds
//! (memmem first). Otherwise three kinds of search share one table of what was found (ids):
//! - members compared with values (`eventName` equal to `DeleteTrail`), read where `"key"`
//!   is written and looked up ([`MemberValues`]): one memmem pass, whatever the number of
//!   values;
//! - one automaton over the needles of the alternatives that compare no member;
//! - for an alternative that compares a member and also needs needles, an automaton of its
//!   own over them, run only where its members hold: a rule's `Success` is looked for where
//!   its `ConsoleLogin` is, not in every file.

use std::cell::RefCell;

use aho_corasick::{
    packed, AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind, Span,
};
use memchr::memmem::Finder;

use crate::member_values::MemberValues;

/// The longest needle searched for (longer ones are cut).
pub(crate) const MAX_NEEDLE: usize = 64;

/// The most patterns aho-corasick's SIMD searcher (Teddy) takes.
const TEDDY_PATTERNS: usize = 64;

/// How much text is folded at a time.
pub(crate) const FOLD_CHUNK: usize = 1 << 20;

thread_local! {
    /// The text being searched, ASCII-lowercased: one buffer per scan thread, as large as
    /// the largest chunk searched.
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// UTF-8 of the only characters that compare equal to an ASCII letter once case is folded:
/// by [`str::to_lowercase`], the Kelvin sign (to `k`) and the capital I with a dot (to `i`
/// and a combining dot); by Unicode simple case folding (a `(?i)` regex), also the long s
/// (`s`). Text holding one may match a needle in a way no ASCII folding finds.
const FOLDS_TO_ASCII: [&[u8]; 3] = [
    "\u{212a}".as_bytes(),
    "\u{130}".as_bytes(),
    "\u{17f}".as_bytes(),
];

/// One clause of an alternative of [`crate::Prefilter::clauses_ignoring_case`]: what text must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause<'a> {
    /// One of these needles, anywhere, in any ASCII case.
    Needles(Vec<&'a [u8]>),
    /// A member named `key` whose value is a string equal to one of `values`, in any ASCII
    /// case (`eventName` equal to `DeleteTrail`): each value `"key"` precedes is read and
    /// looked up, where a search for every value would cost a pattern each.
    Equals {
        /// The member's name, as JSON writes it unescaped: a name JSON may write otherwise than
        /// as it is (one with `/`, which may be `\/`) is not found where it is.
        key: &'a str,
        /// The values.
        values: Vec<&'a [u8]>,
    },
}

/// What [`ClauseSearch::alternatives_in`] found a text may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// No alternative: the text cannot match.
    None,
    /// The alternatives listed.
    Some,
    /// Any alternative.
    All,
}

/// The compiled clauses of every alternative.
pub(crate) struct ClauseSearch {
    /// What makes any text a candidate: `\u`, and the characters that lowercase to ASCII.
    /// Searched for apart (memmem), so that the needles' SIMD search looks at their first
    /// three bytes, not two (56 of SigmaHQ's rules over routine calls: 0.57 s where
    /// searching for them with the needles took 0.90 s).
    always: Vec<Finder<'static>>,
    /// The needles of the alternatives that compare no member.
    needles: Needles,
    /// The members compared, each value an id.
    members: Vec<MemberValues>,
    /// The needles of the alternatives that compare members, each searched for where the
    /// alternative's members hold.
    deferred: Vec<Deferred>,
    clauses: Clauses,
}

/// An alternative's needles, looked for once its members hold.
struct Deferred {
    alternative: usize,
    needles: Needles,
}

/// An automaton over some needles, each found wherever it is (however they overlap).
struct Needles {
    search: Search,
    /// The id of each pattern.
    ids: Vec<usize>,
    /// The patterns, lowercased.
    patterns: Vec<Vec<u8>>,
    /// For each pattern, the others that may match where it does: those it is a prefix of,
    /// and those that are a prefix of it.
    relatives: Vec<Vec<usize>>,
    /// The longest pattern, in bytes.
    longest: usize,
}

/// How [`Needles`] searches.
enum Search {
    /// Over ASCII-lowercased text, leftmost-first.
    Folded(Folded),
    /// A DFA that folds case itself over the text as it is, past 64 needles; every match,
    /// overlapping, or where any needle decides, the first.
    Dfa(AhoCorasick),
}

/// How [`Search::Folded`] finds the next match.
enum Folded {
    /// Teddy itself over ASCII-lowercased text, leftmost-first, for several needles:
    /// aho-corasick's own choice of prefilter looks at their first bytes, which for needles
    /// in quotes (`"role"`, `"assumedrole"`) is a `"` every few bytes (AssumeRole Misuse
    /// alone: 3.1 s with it, 2.7 s with Teddy; the fixtures' rules 2.8 s and 2.2 s).
    Teddy(packed::Searcher),
    /// aho-corasick: one needle (its memmem), or needles Teddy does not take.
    Automaton(AhoCorasick),
}

impl Needles {
    /// The needles `ids` of `patterns`, lowercased; `None` where aho-corasick cannot build
    /// their automaton.
    fn new(patterns: &[Vec<u8>], ids: Vec<usize>, kind: MatchKind) -> Option<Needles> {
        let mine: Vec<Vec<u8>> = ids.iter().map(|&id| patterns[id].clone()).collect();
        // Lowercased needles over lowercased text: a case-sensitive search keeps Teddy,
        // which ASCII case folding turns off, and which an overlapping search does not use;
        // folding a copy of the text and finding each match from the one before's start costs
        // less (56 of SigmaHQ's rules over routine calls: 0.90 s where an overlapping search
        // over the text took 2.0 s).
        // Past Teddy's reach (64 patterns) there is no SIMD search to keep: a DFA that folds
        // case itself, over the text as it is, saves the copy. Nor do several automata of up
        // to 64 patterns each, one pass of each over the folded text, recover it (131
        // patterns, three automata: 2.8 s where one DFA took 1.9 s).
        let teddy = || {
            (packed::Config::new())
                .match_kind(packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(&mine)
                .build()
        };
        let search = match mine.len() {
            n if n > TEDDY_PATTERNS => Search::Dfa(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(kind)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&mine)
                    .ok()?,
            ),
            n => Search::Folded(match (n > 1).then(teddy).flatten() {
                Some(teddy) => Folded::Teddy(teddy),
                None => Folded::Automaton(
                    AhoCorasickBuilder::new()
                        .match_kind(MatchKind::LeftmostFirst)
                        .build(&mine)
                        .ok()?,
                ),
            }),
        };
        let relatives = (mine.iter().enumerate())
            .map(|(i, p)| {
                (mine.iter().enumerate())
                    .filter(|&(j, q)| j != i && (q.starts_with(p) || p.starts_with(q)))
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect();
        Some(Needles {
            search,
            longest: mine.iter().map(Vec::len).max().unwrap_or(0),
            ids,
            patterns: mine,
            relatives,
        })
    }

    /// Calls `found` with the id of each needle found in `text`, in any ASCII case, until it
    /// says the text is decided (returns true); whether it did.
    fn find(&self, text: &[u8], found: &mut impl FnMut(usize) -> bool) -> bool {
        if self.ids.is_empty() {
            return false;
        }
        let folded = match &self.search {
            Search::Folded(folded) => folded,
            Search::Dfa(dfa) => {
                let id = |m: aho_corasick::Match| self.ids[m.pattern().as_usize()];
                return match dfa.match_kind() {
                    // Where any needle decides (see `ClauseSearch::new`), the first found does.
                    MatchKind::LeftmostFirst => dfa.find_iter(text).any(|m| found(id(m))),
                    _ => dfa.find_overlapping_iter(text).any(|m| found(id(m))),
                };
            }
        };
        // A chunk at a time (overlapping by a needle's length), so that the copy stays small
        // whatever the text.
        let overlap = self.longest.saturating_sub(1);
        // Twice the longest needle at least, so that every chunk moves the start on.
        let chunk = FOLD_CHUNK.max(2 * self.longest);
        LOWERED.with_borrow_mut(|lowered| {
            let mut start = 0;
            loop {
                let end = (start + chunk).min(text.len());
                lowered.clear();
                lowered.extend_from_slice(&text[start..end]);
                lowered.make_ascii_lowercase();
                if self.find_folded(folded, lowered, found) {
                    return true;
                }
                if end == text.len() {
                    return false;
                }
                start = end - overlap.min(end - start);
            }
        })
    }

    /// [`Needles::find`] in lowercased text: each leftmost-first match, searched for again
    /// from its start on, finds every position where a needle starts; where several do (one
    /// a prefix of another), the first found names the others to check.
    fn find_folded(
        &self,
        folded: &Folded,
        text: &[u8],
        found: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        let mut at = 0;
        while at < text.len() {
            let span = Span::from(at..text.len());
            let m = match folded {
                Folded::Teddy(teddy) => teddy.find_in(text, span),
                Folded::Automaton(automaton) => automaton.find(Input::new(text).span(span)),
            };
            let Some(m) = m else {
                return false;
            };
            let p = m.pattern().as_usize();
            if found(self.ids[p]) {
                return true;
            }
            for &q in &self.relatives[p] {
                if text[m.start()..].starts_with(&self.patterns[q]) && found(self.ids[q]) {
                    return true;
                }
            }
            at = m.start() + 1;
        }
        false
    }
}

/// The needles and members' values of the clauses, each once, in the order first met.
struct Numbering<'a> {
    patterns: Vec<Vec<u8>>,
    member_values: Vec<(&'a str, Vec<u8>)>,
}

impl<'a> Numbering<'a> {
    fn needle(&mut self, needle: &[u8]) -> usize {
        // A needle's first bytes are needed as surely as the whole, and a long needle costs
        // its length at every candidate position: each is cut to its first 64 bytes.
        let needle = needle[..needle.len().min(MAX_NEEDLE)].to_ascii_lowercase();
        match self.patterns.iter().position(|p| *p == needle) {
            Some(i) => i,
            None => {
                self.patterns.push(needle);
                self.patterns.len() - 1
            }
        }
    }

    fn member_value(&mut self, key: &'a str, value: &[u8]) -> usize {
        let value = value.to_ascii_lowercase();
        let same = |(k, v): &(&str, Vec<u8>)| *k == key && *v == value;
        match self.member_values.iter().position(same) {
            Some(i) => i,
            None => {
                self.member_values.push((key, value));
                self.member_values.len() - 1
            }
        }
    }
}

impl ClauseSearch {
    /// The search for `alternatives`, each a non-empty list of clauses; `None` where an
    /// automaton cannot be built (then nothing is ruled out).
    pub(crate) fn new(alternatives: &[Vec<Clause<'_>>]) -> Option<ClauseSearch> {
        let mut numbering = Numbering {
            patterns: Vec::new(),
            member_values: Vec::new(),
        };
        // The needles first, so that the ids of members' values follow theirs.
        for clause in alternatives.iter().flatten() {
            if let Clause::Needles(needles) = clause {
                needles.iter().for_each(|n| _ = numbering.needle(n));
            }
        }
        let members_from = numbering.patterns.len();
        let alternatives: Vec<Vec<Vec<usize>>> = (alternatives.iter())
            .map(|clauses| {
                (clauses.iter())
                    .map(|clause| match clause {
                        Clause::Needles(needles) => {
                            needles.iter().map(|n| numbering.needle(n)).collect()
                        }
                        Clause::Equals { key, values } => (values.iter())
                            .map(|v| members_from + numbering.member_value(key, v))
                            .collect(),
                    })
                    .collect()
            })
            .collect();
        let Numbering {
            patterns,
            member_values,
        } = numbering;
        let members = members_of(&member_values, members_from);
        let clauses = Clauses::new(
            alternatives,
            members_from,
            members_from + member_values.len(),
        );
        // With clauses, every needle found, not only the first (a clause's needle may come
        // after another's). Without, the first needle decides.
        let kind = match clauses.any_of {
            true => MatchKind::LeftmostFirst,
            false => MatchKind::Standard,
        };
        // An alternative that compares members looks for its needles only where they hold.
        let mut deferred = Vec::new();
        let mut eager = vec![false; members_from];
        for (a, clauses_of) in clauses.alternatives.iter().enumerate() {
            let needles = clauses_of.iter().filter(|c| !clauses.is_member(c));
            if clauses_of.iter().any(|c| clauses.is_member(c)) {
                let ids: Vec<usize> = needles.flatten().copied().collect();
                if !ids.is_empty() {
                    deferred.push(Deferred {
                        alternative: a,
                        needles: Needles::new(&patterns, ids, kind)?,
                    });
                }
            } else {
                needles.flatten().for_each(|&id| eager[id] = true);
            }
        }
        let eager_ids: Vec<usize> = (0..members_from).filter(|&id| eager[id]).collect();
        Some(ClauseSearch {
            always: ([&b"\\u"[..]].into_iter().chain(FOLDS_TO_ASCII))
                .map(|p| Finder::new(p).into_owned())
                .collect(),
            needles: Needles::new(&patterns, eager_ids, kind)?,
            members,
            deferred,
            clauses,
        })
    }

    /// Whether `text` may hold a match of some alternative.
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        let mut found = Found::new(&self.clauses, false);
        self.search(text, &mut found);
        found.always || !found.complete.is_empty()
    }

    /// Whether [`ClauseSearch::alternatives_in`] tells alternatives apart: more than one, and
    /// not every one a single clause of needles (where they are, the first needle found
    /// decides and the rest of the text is not read).
    pub(crate) fn tells_alternatives(&self) -> bool {
        !self.clauses.any_of && self.clauses.alternatives.len() > 1
    }

    /// The alternatives `text` may match, in `held` (ascending): see
    /// [`crate::Prefilter::alternatives_in`].
    pub(crate) fn alternatives_in(&self, text: &[u8], held: &mut Vec<usize>) -> Candidates {
        held.clear();
        if !self.tells_alternatives() {
            return match self.may_match(text) {
                true => Candidates::All,
                false => Candidates::None,
            };
        }
        let mut found = Found::new(&self.clauses, true);
        self.search(text, &mut found);
        if found.always {
            return Candidates::All;
        }
        held.append(&mut found.complete);
        held.sort_unstable();
        match held.is_empty() {
            true => Candidates::None,
            false => Candidates::Some,
        }
    }

    /// Members, then the needles, then the deferred needles where their members hold, into
    /// `found`, until it has decided.
    fn search(&self, text: &[u8], found: &mut Found<'_>) {
        if self.always.iter().any(|f| f.find(text).is_some()) {
            found.always = true;
            return;
        }
        for members in &self.members {
            if members.find(text, |id| found.mark(id)) {
                return;
            }
        }
        if self.needles.find(text, &mut |id| found.needle(id)) {
            return;
        }
        for deferred in &self.deferred {
            let a = deferred.alternative;
            if found.complete.contains(&a) || !found.members_hold(a) {
                continue;
            }
            if deferred.needles.find(text, &mut |id| found.needle(id)) {
                return;
            }
        }
    }
}

/// Each member's values, as [`MemberValues`] finds them, with their ids from `first`.
fn members_of(member_values: &[(&str, Vec<u8>)], first: usize) -> Vec<MemberValues> {
    let mut keys: Vec<&str> = member_values.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    (keys.iter())
        .map(|key| {
            let values = (member_values.iter().enumerate())
                .filter(|(_, (k, _))| k == key)
                .map(|(i, (_, v))| (&v[..], first + i));
            MemberValues::new(key, values)
        })
        .collect()
}

/// Which ids (needles, members' values) make text a candidate: every clause of one
/// alternative.
struct Clauses {
    /// Each alternative's clauses, each the ids any one of which it needs.
    alternatives: Vec<Vec<Vec<usize>>>,
    /// Ids from this one on are members' values.
    members_from: usize,
    /// For each id, the alternatives that name it.
    named_by: Vec<Vec<usize>>,
    /// Every alternative is one clause of needles: any needle found makes text a candidate.
    any_of: bool,
}

impl Clauses {
    fn new(alternatives: Vec<Vec<Vec<usize>>>, members_from: usize, ids: usize) -> Clauses {
        let mut named_by = vec![Vec::new(); ids];
        for (a, clauses) in alternatives.iter().enumerate() {
            for &id in clauses.iter().flatten() {
                if named_by[id].last() != Some(&a) {
                    named_by[id].push(a);
                }
            }
        }
        let any_of = ids == members_from && alternatives.iter().all(|c| c.len() == 1);
        Clauses {
            alternatives,
            members_from,
            named_by,
            any_of,
        }
    }

    /// Whether `clause` compares a member (its ids are a member's values).
    fn is_member(&self, clause: &[usize]) -> bool {
        clause.first().is_some_and(|&id| id >= self.members_from)
    }
}

/// The ids found so far in one text (over its chunks), and what they make of it.
struct Found<'c> {
    clauses: &'c Clauses,
    seen: Vec<bool>,
    /// Every complete alternative is wanted, not the first: the whole text is read.
    every: bool,
    /// The alternatives with all their clauses, in the order completed.
    complete: Vec<usize>,
    /// A pattern that makes any text a candidate was found (or, where any needle decides,
    /// a needle).
    always: bool,
}

impl<'c> Found<'c> {
    fn new(clauses: &'c Clauses, every: bool) -> Found<'c> {
        // Where the first needle decides, nothing is kept of what was found.
        let kept = match clauses.any_of {
            true => 0,
            false => clauses.named_by.len(),
        };
        Found {
            clauses,
            seen: vec![false; kept],
            every,
            complete: Vec::new(),
            always: false,
        }
    }

    /// Adds a needle found; whether the text is now decided.
    fn needle(&mut self, id: usize) -> bool {
        if self.clauses.any_of {
            // Any needle decides where every alternative is one clause: which is not told.
            self.always = true;
            return true;
        }
        self.mark(id)
    }

    /// Adds an id found; whether the text is now decided. An id found again adds nothing and
    /// says not decided: the search stops at the first "decided", never asks again after it.
    fn mark(&mut self, id: usize) -> bool {
        if std::mem::replace(&mut self.seen[id], true) {
            return false;
        }
        let holds = |clause: &Vec<usize>| clause.iter().any(|&p| self.seen[p]);
        for &a in &self.clauses.named_by[id] {
            if !self.complete.contains(&a) && self.clauses.alternatives[a].iter().all(holds) {
                self.complete.push(a);
            }
        }
        !self.every && !self.complete.is_empty()
    }

    /// Whether every clause of alternative `a` that compares a member holds.
    fn members_hold(&self, a: usize) -> bool {
        (self.clauses.alternatives[a].iter())
            .filter(|clause| self.clauses.is_member(clause))
            .all(|clause| clause.iter().any(|&id| self.seen[id]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every needle is found, however the needles overlap or share a start, in both ways of
    /// searching.
    #[test]
    fn needles_are_found_wherever_they_overlap() {
        let patterns: Vec<Vec<u8>> = ["abc", "bcd", "ab", "abcd", "cd", "zz"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let ids: Vec<usize> = (0..patterns.len()).collect();
        let folded = Needles::new(&patterns, ids, MatchKind::Standard).unwrap();
        assert!(matches!(folded.search, Search::Folded(_)));
        let mut many = patterns.clone();
        many.extend((0..TEDDY_PATTERNS).map(|i| format!("filler{i:03}").into_bytes()));
        let dfa = Needles::new(&many, (0..many.len()).collect(), MatchKind::Standard).unwrap();
        assert!(matches!(dfa.search, Search::Dfa(_)));
        for needles in [folded, dfa] {
            let mut seen = Vec::new();
            needles.find(b"xABcDx", &mut |id| {
                seen.push(id);
                false
            });
            seen.sort();
            seen.dedup();
            assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        }
    }
}
