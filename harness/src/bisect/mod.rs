//! The search behind `harness bisect`, with no I/O: which version to probe next, given what the
//! probes so far showed, and what the answer is once there is one.
//!
//! The versions are a line in release order, indices `0..len`. One side of the boundary shows the
//! *old* state and the other the *new* one: for a regression the old state is pass and the new one
//! fail; for a fix (`--find-fix`) the other way round. Every choice is a function of the
//! observations alone ([`Bisection::decide`]), so a search resumed from saved observations picks
//! exactly the probes an uninterrupted one would have picked.
//!
//! - Both given ends are probed first; ends that agree, or that are the wrong way round, stop the
//!   search with that answer.
//! - A missing new end is the newest version that gives a verdict; a missing old end is found by
//!   stepping back from the new end by 1, 2, 4, 8, … versions.
//! - A probe that gives no verdict (not installable, inconclusive, the feature absent, or flaky
//!   under `--repeat`) is skipped as `git bisect skip` does: the next probe is the untried version
//!   nearest the middle, and skipped versions next to the boundary are reported with it.
//! - The observations must be monotonic (every old state older than every new state); when they
//!   are not, that is the answer ([`Outcome::NonMonotonic`]), never a boundary. With
//!   [`Config::verify`] the search spends up to two more probes on it: one inside the longest
//!   untested stretch on each side of the boundary.

pub mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which way the boundary goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Older versions pass, newer ones fail: find the first that fails.
    Regression,
    /// Older versions fail, newer ones pass: find the first that passes.
    Fix,
}

impl Direction {
    /// The verdict of the versions before the boundary.
    pub fn old_state(self) -> Observation {
        match self {
            Direction::Regression => Observation::Pass,
            Direction::Fix => Observation::Fail,
        }
    }

    /// The verdict of the versions from the boundary on.
    pub fn new_state(self) -> Observation {
        match self {
            Direction::Regression => Observation::Fail,
            Direction::Fix => Observation::Pass,
        }
    }
}

/// What probing one version showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observation {
    Pass,
    Fail,
    /// The version could not be installed.
    Uninstallable,
    /// The run gave no verdict (the harness could not drive the client; the check was missing).
    Inconclusive,
    /// The version lacks the feature the scenario needs (feature cache, or the run said so).
    NotApplicable,
    /// Repeated runs disagreed.
    Flaky,
}

impl Observation {
    /// Pass or fail.
    pub fn is_verdict(self) -> bool {
        matches!(self, Observation::Pass | Observation::Fail)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Observation::Pass => "pass",
            Observation::Fail => "FAIL",
            Observation::Uninstallable => "skip: not installable",
            Observation::Inconclusive => "skip: inconclusive",
            Observation::NotApplicable => "skip: feature absent",
            Observation::Flaky => "skip: flaky",
        }
    }
}

/// One run of the scenario on one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    Pass,
    Fail,
    Inconclusive,
    NotApplicable,
}

/// The observation of `--repeat N` runs: a verdict only when every run gave the same one.
/// Disagreeing verdicts are flaky; a run without a verdict makes the probe inconclusive.
pub fn combine(runs: &[RunOutcome]) -> Observation {
    let passes = runs.iter().filter(|r| **r == RunOutcome::Pass).count();
    let fails = runs.iter().filter(|r| **r == RunOutcome::Fail).count();
    if runs.contains(&RunOutcome::NotApplicable) {
        Observation::NotApplicable
    } else if passes > 0 && fails > 0 {
        Observation::Flaky
    } else if runs.is_empty() || runs.contains(&RunOutcome::Inconclusive) {
        Observation::Inconclusive
    } else if fails > 0 {
        Observation::Fail
    } else {
        Observation::Pass
    }
}

/// The search's settings, as indices into the version line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub direction: Direction,
    /// The end expected to show the old state (`--good` for a regression, `--bad` for a fix).
    pub old_end: Option<usize>,
    /// The end expected to show the new state.
    pub new_end: Option<usize>,
    /// Spend up to two probes checking that the line is monotonic beside the boundary.
    pub verify: bool,
}

/// Why a version is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    OldEnd,
    NewEnd,
    /// No new end was given: the newest version that gives a verdict.
    Newest,
    /// No old end was given: stepping back exponentially from the new end.
    StepBack,
    Bisect,
    /// After the boundary is found: one version inside the longest untested stretch of a side.
    SpotCheck,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::OldEnd => "old end",
            Purpose::NewEnd => "new end",
            Purpose::Newest => "newest version",
            Purpose::StepBack => "stepping back for the old end",
            Purpose::Bisect => "bisect",
            Purpose::SpotCheck => "spot check",
        }
    }
}

/// The next probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub index: usize,
    pub purpose: Purpose,
    /// A rough number of probes the whole search will take (for "probe k of ~n").
    pub estimated_total: usize,
}

/// Which end a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    Old,
    New,
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The boundary: the last version in the old state and the first in the new one, with the
    /// skipped versions between them (any of which might be the real first one).
    Found {
        last_old: usize,
        first_new: usize,
        skipped_between: Vec<usize>,
    },
    /// Both ends give the same verdict: nothing to bisect.
    EndsAgree {
        old: usize,
        new: usize,
        verdict: Observation,
    },
    /// The ends differ the other way round (a regression asked for, a fix found, or vice versa).
    Reversed { old: usize, new: usize },
    /// A given end gave no verdict.
    EndUnjudged {
        end: End,
        index: usize,
        observation: Observation,
    },
    /// A given end (the other one not given) shows the other end's state.
    EndWrong {
        end: End,
        index: usize,
        observation: Observation,
    },
    /// No new end was given and the newest version with a verdict shows the old state.
    NewestInOldState { index: usize },
    /// No version with a verdict from the newest down to the old end.
    NoNewEnd,
    /// Stepping back from the new end reached the first version without meeting the old state.
    NoOldEnd { new_end: usize },
    /// Observations that no single boundary explains: `older` shows the new state and `newer`,
    /// a later version, the old one.
    NonMonotonic { older: usize, newer: usize },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Probe(Next),
    Done(Outcome),
}

/// The search state: the line's length, the settings and what each probed version showed.
#[derive(Debug, Clone)]
pub struct Bisection {
    len: usize,
    config: Config,
    known: BTreeMap<usize, Observation>,
    /// The indices probed as spot checks (each side gets one).
    spot_checked: std::collections::BTreeSet<usize>,
}

fn log2_ceil(n: usize) -> usize {
    // Probes to reduce n candidates to none: ceil(log2(n + 1)).
    (usize::BITS - n.leading_zeros()) as usize
}

impl Bisection {
    pub fn new(len: usize, config: Config) -> Result<Bisection, String> {
        for (name, end) in [("old", config.old_end), ("new", config.new_end)] {
            if end.is_some_and(|i| i >= len) {
                return Err(format!("the {name} end is outside the version line"));
            }
        }
        if let (Some(a), Some(b)) = (config.old_end, config.new_end) {
            if a >= b {
                return Err("the old end must come before the new end in release order".into());
            }
        }
        if len == 0 {
            return Err("no versions to search".into());
        }
        Ok(Bisection {
            len,
            config,
            known: BTreeMap::new(),
            spot_checked: Default::default(),
        })
    }

    pub fn config(&self) -> Config {
        self.config
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn record(&mut self, index: usize, observation: Observation) {
        self.known.insert(index, observation);
    }

    /// Records a probe with the purpose it was made for (spot checks are not repeated).
    pub fn record_probe(&mut self, index: usize, purpose: Purpose, observation: Observation) {
        if purpose == Purpose::SpotCheck {
            self.spot_checked.insert(index);
        }
        self.record(index, observation);
    }

    pub fn known(&self) -> &BTreeMap<usize, Observation> {
        &self.known
    }

    fn probe(&self, index: usize, purpose: Purpose, remaining: usize) -> Decision {
        Decision::Probe(Next {
            index,
            purpose,
            estimated_total: self.known.len() + remaining.max(1),
        })
    }

    /// A rough count of the probes still to come when `span` versions lie between the ends.
    fn rest(&self, span: usize, ends: usize) -> usize {
        ends + log2_ceil(span) + if self.config.verify { 2 } else { 0 }
    }

    /// The first pair (older showing the new state, newer showing the old one), if any.
    fn violation(&self) -> Option<(usize, usize)> {
        let (o, n) = (
            self.config.direction.old_state(),
            self.config.direction.new_state(),
        );
        let first_new = self.known.iter().find(|(_, v)| **v == n).map(|(i, _)| *i)?;
        let last_old = self
            .known
            .iter()
            .rev()
            .find(|(_, v)| **v == o)
            .map(|(i, _)| *i)?;
        (first_new < last_old).then_some((first_new, last_old))
    }

    /// The next probe, or the answer.
    pub fn decide(&self) -> Decision {
        let o = self.config.direction.old_state();
        let n = self.config.direction.new_state();
        let span = self.len;
        let pending_ends =
            usize::from(self.config.old_end.is_some()) + usize::from(self.config.new_end.is_some());

        // 1. The given ends, both before anything else.
        for (index, purpose) in [
            (self.config.old_end, Purpose::OldEnd),
            (self.config.new_end, Purpose::NewEnd),
        ] {
            if let Some(i) = index {
                if !self.known.contains_key(&i) {
                    return self.probe(i, purpose, self.rest(span, pending_ends));
                }
            }
        }
        for (end, index) in [
            (End::Old, self.config.old_end),
            (End::New, self.config.new_end),
        ] {
            if let Some(i) = index {
                let observation = self.known[&i];
                if !observation.is_verdict() {
                    return Decision::Done(Outcome::EndUnjudged {
                        end,
                        index: i,
                        observation,
                    });
                }
            }
        }
        match (self.config.old_end, self.config.new_end) {
            (Some(a), Some(b)) => {
                let (va, vb) = (self.known[&a], self.known[&b]);
                if va == vb {
                    return Decision::Done(Outcome::EndsAgree {
                        old: a,
                        new: b,
                        verdict: va,
                    });
                }
                if va == n {
                    return Decision::Done(Outcome::Reversed { old: a, new: b });
                }
            }
            (Some(a), None) if self.known[&a] == n => {
                return Decision::Done(Outcome::EndWrong {
                    end: End::Old,
                    index: a,
                    observation: n,
                })
            }
            (None, Some(b)) if self.known[&b] == o => {
                return Decision::Done(Outcome::EndWrong {
                    end: End::New,
                    index: b,
                    observation: o,
                })
            }
            _ => {}
        }

        // 2. The new end: given, or the newest version with a verdict above the old end.
        let hi_end = match self.config.new_end {
            Some(b) => b,
            None => {
                let floor = self.config.old_end.map_or(0, |a| a + 1);
                let mut found = None;
                for i in (floor..self.len).rev() {
                    match self.known.get(&i) {
                        None => return self.probe(i, Purpose::Newest, self.rest(span, 0)),
                        Some(v) if *v == o => {
                            return Decision::Done(Outcome::NewestInOldState { index: i })
                        }
                        Some(v) if *v == n => {
                            found = Some(i);
                            break;
                        }
                        Some(_) => {}
                    }
                }
                match found {
                    Some(i) => i,
                    None => return Decision::Done(Outcome::NoNewEnd),
                }
            }
        };

        // 3. The old end: given, or stepping back 1, 2, 4, … from the new end.
        let lo_end = match self.config.old_end {
            Some(a) => a,
            None => {
                if let Some((older, newer)) = self.violation() {
                    return Decision::Done(Outcome::NonMonotonic { older, newer });
                }
                let mut offset = 1usize;
                loop {
                    let i = hi_end.saturating_sub(offset);
                    if i == hi_end {
                        return Decision::Done(Outcome::NoOldEnd { new_end: hi_end });
                    }
                    match self.known.get(&i) {
                        None => return self.probe(i, Purpose::StepBack, self.rest(offset, 0) + 1),
                        Some(v) if *v == o => break i,
                        Some(_) => {}
                    }
                    if i == 0 {
                        return Decision::Done(Outcome::NoOldEnd { new_end: hi_end });
                    }
                    offset = offset.saturating_mul(2);
                }
            }
        };

        // 4. Every observation so far must fit one boundary.
        if let Some((older, newer)) = self.violation() {
            return Decision::Done(Outcome::NonMonotonic { older, newer });
        }

        // 5. Bisect between the last old state and the first new state.
        let in_range = |i: &usize| (lo_end..=hi_end).contains(i);
        let lo = self
            .known
            .iter()
            .filter(|(i, v)| in_range(i) && **v == o)
            .map(|(i, _)| *i)
            .max()
            .unwrap_or(lo_end);
        let hi = self
            .known
            .iter()
            .filter(|(i, v)| in_range(i) && **i > lo && **v == n)
            .map(|(i, _)| *i)
            .min()
            .unwrap_or(hi_end);
        let untried: Vec<usize> = (lo + 1..hi)
            .filter(|i| !self.known.contains_key(i))
            .collect();
        let middle = lo + (hi - lo) / 2;
        if let Some(pick) = nearest(&untried, middle) {
            let remaining = log2_ceil(untried.len()) + if self.config.verify { 2 } else { 0 };
            return self.probe(pick, Purpose::Bisect, remaining);
        }

        // 6. Spot checks: one probe inside the longest untested stretch on each side.
        if self.config.verify {
            let sides = [(lo_end, lo, o), (hi, hi_end, n)];
            let pending: Vec<usize> = sides
                .iter()
                .filter_map(|&(from, to, state)| self.spot_check(from, to, state))
                .collect();
            if let Some(&pick) = pending.first() {
                return self.probe(pick, Purpose::SpotCheck, pending.len());
            }
        }

        Decision::Done(Outcome::Found {
            last_old: lo,
            first_new: hi,
            skipped_between: (lo + 1..hi).collect(),
        })
    }

    /// The version to spot-check in `from..=to` (a side of the boundary, whose verdicts should all
    /// be `state`): the untried version nearest the middle of the side's longest stretch between
    /// verdicts. None when the side has had its spot check (even a skipped one) or has no room.
    fn spot_check(&self, from: usize, to: usize, state: Observation) -> Option<usize> {
        if to <= from + 1 || self.spot_checked.range(from + 1..to).next().is_some() {
            return None;
        }
        let mut marks: Vec<usize> = vec![from];
        marks.extend(
            self.known
                .range(from + 1..to)
                .filter(|(_, v)| **v == state)
                .map(|(i, _)| *i),
        );
        marks.push(to);
        let (a, b) = marks
            .windows(2)
            .map(|w| (w[0], w[1]))
            .max_by_key(|(a, b)| (b - a, std::cmp::Reverse(*a)))?;
        let untried: Vec<usize> = (a + 1..b).filter(|i| !self.known.contains_key(i)).collect();
        nearest(&untried, a + (b - a) / 2)
    }

    /// The versions worth installing while `index` is probed: the next probe for each verdict it
    /// might give.
    pub fn prefetch(&self, index: usize) -> Vec<usize> {
        let mut next = Vec::new();
        for verdict in [Observation::Pass, Observation::Fail] {
            let mut what_if = self.clone();
            what_if.record(index, verdict);
            if let Decision::Probe(p) = what_if.decide() {
                if p.index != index && !next.contains(&p.index) {
                    next.push(p.index);
                }
            }
        }
        next
    }
}

/// The element of `candidates` nearest `target` (the lower one on a tie).
fn nearest(candidates: &[usize], target: usize) -> Option<usize> {
    candidates
        .iter()
        .copied()
        .min_by_key(|&i| (i.abs_diff(target), i))
}

/// Runs a search to its end with `probe` as the oracle; returns the outcome and the indices probed
/// in order. For tests and simple callers: the real command also prefetches and persists.
pub fn run_to_end(
    bisection: &mut Bisection,
    mut probe: impl FnMut(usize) -> Observation,
) -> (Outcome, Vec<usize>) {
    let mut probed = Vec::new();
    loop {
        match bisection.decide() {
            Decision::Done(outcome) => return (outcome, probed),
            Decision::Probe(next) => {
                let observation = probe(next.index);
                probed.push(next.index);
                bisection.record_probe(next.index, next.purpose, observation);
            }
        }
    }
}

/// What a search saved so far: its arguments (as a key) and each probed version's observation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedProbes {
    /// The search's arguments; a file saved for other arguments is not resumed.
    pub key: String,
    /// Version → observation, and whatever the caller keeps beside it.
    pub probes: BTreeMap<String, SavedProbe>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedProbe {
    pub observation: Observation,
    #[serde(default)]
    pub purpose: Option<Purpose>,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub runs: Vec<RunOutcome>,
    #[serde(default)]
    pub install_secs: f64,
    #[serde(default)]
    pub run_secs: f64,
}

impl SavedProbes {
    /// The saved probes at `path` when they were saved for `key`; empty otherwise.
    pub fn load(path: &Path, key: &str) -> std::io::Result<SavedProbes> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SavedProbes {
                    key: key.to_owned(),
                    ..SavedProbes::default()
                })
            }
            Err(e) => return Err(e),
        };
        let saved: SavedProbes = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        if saved.key == key {
            Ok(saved)
        } else {
            Ok(SavedProbes {
                key: key.to_owned(),
                ..SavedProbes::default()
            })
        }
    }

    /// Written to a temporary file and renamed, so an interruption never leaves half a file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp: PathBuf = path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }

    /// Feeds the saved observations of versions on the line into the search.
    pub fn restore(&self, bisection: &mut Bisection, versions: &[String]) -> usize {
        let mut restored = 0;
        for (i, v) in versions.iter().enumerate() {
            if let Some(p) = self.probes.get(v) {
                bisection.record_probe(i, p.purpose.unwrap_or(Purpose::Bisect), p.observation);
                restored += 1;
            }
        }
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Observation::{Fail, Flaky, Inconclusive, NotApplicable, Pass, Uninstallable};

    fn regression(len: usize, good: Option<usize>, bad: Option<usize>) -> Bisection {
        Bisection::new(
            len,
            Config {
                direction: Direction::Regression,
                old_end: good,
                new_end: bad,
                verify: false,
            },
        )
        .expect("a valid configuration")
    }

    /// Versions before `boundary` pass, the rest fail.
    fn planted(boundary: usize) -> impl Fn(usize) -> Observation {
        move |i| if i < boundary { Pass } else { Fail }
    }

    fn bound(len: usize) -> usize {
        // ceil(log2 n) + 2 (the two ends).
        (len as f64).log2().ceil() as usize + 2
    }

    #[test]
    fn finds_a_planted_boundary_within_log2_n_plus_two_probes() {
        for len in [2usize, 3, 5, 8, 30, 100, 214, 473] {
            for boundary in 1..len {
                let mut b = regression(len, Some(0), Some(len - 1));
                let (outcome, probed) = run_to_end(&mut b, planted(boundary));
                assert_eq!(
                    outcome,
                    Outcome::Found {
                        last_old: boundary - 1,
                        first_new: boundary,
                        skipped_between: vec![]
                    },
                    "len {len}, boundary {boundary}"
                );
                assert!(
                    probed.len() <= bound(len),
                    "len {len}, boundary {boundary}: {} probes > {}",
                    probed.len(),
                    bound(len)
                );
                assert_eq!(&probed[..2], &[0, len - 1], "the ends come first");
            }
        }
    }

    #[test]
    fn a_skipped_version_is_stepped_around_and_costs_one_probe_each() {
        let len = 214;
        let boundary = 120;
        // Every version a first probe would pick is uninstallable or inconclusive, plus two more.
        let skips: BTreeMap<usize, Observation> = [
            (106, Uninstallable),
            (107, Inconclusive),
            (105, NotApplicable),
            (160, Uninstallable),
            (119, Inconclusive),
        ]
        .into_iter()
        .collect();
        let mut b = regression(len, Some(0), Some(len - 1));
        let oracle = |i: usize| skips.get(&i).copied().unwrap_or(planted(boundary)(i));
        let (outcome, probed) = run_to_end(&mut b, oracle);
        // 119 is skipped and sits next to the boundary: the first failure is 120 or 119.
        assert_eq!(
            outcome,
            Outcome::Found {
                last_old: 118,
                first_new: 120,
                skipped_between: vec![119]
            }
        );
        let skipped = probed.iter().filter(|i| skips.contains_key(i)).count();
        assert!(skipped >= 2, "the test's skips were met: {probed:?}");
        assert!(probed.len() <= bound(len) + skipped, "{probed:?}");
        // Each probe after a skip is the untried version nearest the middle.
        let first_skip = probed
            .iter()
            .position(|i| *i == 106)
            .expect("106 was probed");
        assert_eq!(&probed[first_skip..first_skip + 4], &[106, 105, 107, 104]);
    }

    #[test]
    fn repeated_runs_that_disagree_are_flaky_not_a_verdict() {
        use RunOutcome as R;
        assert_eq!(combine(&[R::Pass, R::Pass, R::Pass]), Pass);
        assert_eq!(combine(&[R::Fail, R::Fail]), Fail);
        assert_eq!(combine(&[R::Pass, R::Fail, R::Pass]), Flaky);
        assert_eq!(combine(&[R::Pass, R::Inconclusive]), Inconclusive);
        assert_eq!(combine(&[R::NotApplicable]), NotApplicable);
        assert_eq!(combine(&[]), Inconclusive);

        // A version line where 57 and 58 flip a coin: with --repeat 3 they are skipped as
        // flaky, and the boundary (60) is still found.
        let mut calls: BTreeMap<usize, usize> = BTreeMap::new();
        let mut run_once = |i: usize| -> RunOutcome {
            let n = calls.entry(i).or_default();
            *n += 1;
            if (i == 57 || i == 58) && (*n).is_multiple_of(2) {
                RunOutcome::Fail
            } else if i < 60 {
                RunOutcome::Pass
            } else {
                RunOutcome::Fail
            }
        };
        let mut b = regression(100, Some(0), Some(99));
        let mut flaky = Vec::new();
        let (outcome, _) = run_to_end(&mut b, |i| {
            let runs: Vec<RunOutcome> = (0..3).map(|_| run_once(i)).collect();
            let o = combine(&runs);
            if o == Flaky {
                flaky.push(i);
            }
            o
        });
        assert_eq!(
            outcome,
            Outcome::Found {
                last_old: 59,
                first_new: 60,
                skipped_between: vec![]
            }
        );
        assert_eq!(flaky, [58, 57], "both coin-flippers were met and skipped");
    }

    #[test]
    fn a_flaky_probe_next_to_the_boundary_is_reported_as_skipped() {
        let mut b = regression(50, Some(0), Some(49));
        let (outcome, _) = run_to_end(&mut b, |i| if i == 30 { Flaky } else { planted(30)(i) });
        assert_eq!(
            outcome,
            Outcome::Found {
                last_old: 29,
                first_new: 31,
                skipped_between: vec![30]
            }
        );
    }

    #[test]
    fn ends_that_agree_stop_after_two_probes() {
        let mut b = regression(100, Some(10), Some(90));
        let (outcome, probed) = run_to_end(&mut b, |_| Fail);
        assert_eq!(
            outcome,
            Outcome::EndsAgree {
                old: 10,
                new: 90,
                verdict: Fail
            }
        );
        assert_eq!(probed, [10, 90]);
        let mut b = regression(100, Some(10), Some(90));
        assert_eq!(
            run_to_end(&mut b, |_| Pass).0,
            Outcome::EndsAgree {
                old: 10,
                new: 90,
                verdict: Pass
            }
        );
    }

    #[test]
    fn ends_the_wrong_way_round_say_so_and_an_unjudged_end_stops_the_search() {
        let mut b = regression(100, Some(0), Some(99));
        let (outcome, probed) = run_to_end(&mut b, |i| if i < 50 { Fail } else { Pass });
        assert_eq!(outcome, Outcome::Reversed { old: 0, new: 99 });
        assert_eq!(probed.len(), 2);
        let mut b = regression(100, Some(0), Some(99));
        let (outcome, _) = run_to_end(&mut b, |i| if i == 99 { Uninstallable } else { Pass });
        assert_eq!(
            outcome,
            Outcome::EndUnjudged {
                end: End::New,
                index: 99,
                observation: Uninstallable
            }
        );
    }

    #[test]
    fn find_fix_finds_the_first_version_that_passes() {
        for boundary in [1usize, 17, 106, 213] {
            let mut b = Bisection::new(
                214,
                Config {
                    direction: Direction::Fix,
                    old_end: Some(0),
                    new_end: Some(213),
                    verify: false,
                },
            )
            .expect("valid");
            let (outcome, probed) = run_to_end(&mut b, |i| if i < boundary { Fail } else { Pass });
            assert_eq!(
                outcome,
                Outcome::Found {
                    last_old: boundary - 1,
                    first_new: boundary,
                    skipped_between: vec![]
                }
            );
            assert!(probed.len() <= bound(214));
        }
    }

    #[test]
    fn a_missing_old_end_is_found_by_stepping_back_exponentially() {
        let mut b = regression(473, None, Some(472));
        let (outcome, probed) = run_to_end(&mut b, planted(400));
        assert_eq!(
            outcome,
            Outcome::Found {
                last_old: 399,
                first_new: 400,
                skipped_between: vec![]
            }
        );
        // 472, then 471, 470, 468, 464, 456, 440, 408, 344 (passes), then bisect in 344..408.
        assert_eq!(&probed[..9], &[472, 471, 470, 468, 464, 456, 440, 408, 344]);
        assert!(probed.len() <= 9 + bound(64), "{probed:?}");
    }

    #[test]
    fn with_no_ends_the_newest_version_is_the_new_end_and_skips_step_down() {
        let mut b = regression(100, None, None);
        let (outcome, probed) = run_to_end(&mut b, |i| {
            if i == 99 {
                Uninstallable
            } else {
                planted(70)(i)
            }
        });
        assert_eq!(
            outcome,
            Outcome::Found {
                last_old: 69,
                first_new: 70,
                skipped_between: vec![]
            }
        );
        assert_eq!(&probed[..3], &[99, 98, 97]);
        // The newest passing already: nothing to find.
        let mut b = regression(100, None, None);
        assert_eq!(
            run_to_end(&mut b, |_| Pass).0,
            Outcome::NewestInOldState { index: 99 }
        );
        // Every version fails: stepping reaches the first version and says so.
        let mut b = regression(100, None, None);
        let (outcome, probed) = run_to_end(&mut b, |_| Fail);
        assert_eq!(outcome, Outcome::NoOldEnd { new_end: 99 });
        assert_eq!(probed, [99, 98, 97, 95, 91, 83, 67, 35, 0]);
    }

    #[test]
    fn a_search_resumed_from_its_state_file_picks_the_same_probes_and_repeats_none() {
        let versions: Vec<String> = (0..214).map(|i| format!("2.1.{i}")).collect();
        let oracle = |i: usize| {
            if i == 50 {
                Uninstallable
            } else {
                planted(77)(i)
            }
        };

        let mut whole = regression(214, Some(0), Some(213));
        let (expected, all_probes) = run_to_end(&mut whole, oracle);

        // Interrupted after four probes, saved as the command saves them.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bisect").join("state.json");
        let mut first = regression(214, Some(0), Some(213));
        let mut saved = SavedProbes::load(&path, "key-a").expect("no file yet");
        for _ in 0..4 {
            let Decision::Probe(next) = first.decide() else {
                panic!("the search ended early")
            };
            let o = oracle(next.index);
            first.record_probe(next.index, next.purpose, o);
            saved.probes.insert(
                versions[next.index].clone(),
                SavedProbe {
                    observation: o,
                    purpose: Some(next.purpose),
                    detail: String::new(),
                    runs: vec![],
                    install_secs: 0.0,
                    run_secs: 0.0,
                },
            );
            saved.save(&path).expect("saved");
        }

        // A rerun with the same arguments resumes; one with other arguments starts afresh.
        let loaded = SavedProbes::load(&path, "key-a").expect("loaded");
        assert_eq!(loaded, saved);
        assert!(SavedProbes::load(&path, "key-b")
            .expect("loaded")
            .probes
            .is_empty());
        let mut resumed = regression(214, Some(0), Some(213));
        assert_eq!(loaded.restore(&mut resumed, &versions), 4);
        let (outcome, rest) = run_to_end(&mut resumed, oracle);
        assert_eq!(outcome, expected);
        assert_eq!(
            rest,
            &all_probes[4..],
            "no probe is repeated, none is added"
        );
    }

    #[test]
    fn prefetch_names_the_next_probe_for_either_verdict() {
        let mut b = regression(101, Some(0), Some(100));
        b.record(0, Pass);
        b.record(100, Fail);
        let Decision::Probe(next) = b.decide() else {
            panic!("a probe")
        };
        assert_eq!(next.index, 50);
        assert_eq!(b.prefetch(50), [75, 25]);
        b.record(50, Uninstallable);
        // With 50 skipped the next probe is beside it and either verdict of it moves the search.
        let Decision::Probe(next) = b.decide() else {
            panic!("a probe")
        };
        assert_eq!(next.index, 49);
        assert_eq!(b.prefetch(49), [74, 24]);
    }

    // Negative controls: an oracle that lies is reported, never turned into a boundary.

    #[test]
    fn a_non_monotonic_line_seen_while_stepping_back_is_reported() {
        // The new end fails, one step back passes, two steps back fails: no single boundary.
        let mut b = regression(100, None, Some(99));
        b.record(99, Fail);
        b.record(98, Fail);
        b.record(97, Fail);
        b.record(95, Pass);
        b.record(96, Pass);
        b.record(91, Fail); // recorded from an earlier run of the same arguments
        assert_eq!(
            b.decide(),
            Decision::Done(Outcome::NonMonotonic {
                older: 91,
                newer: 96
            })
        );
    }

    #[test]
    fn a_lying_oracle_is_caught_by_the_spot_checks_not_accepted() {
        // Passes on even versions, fails on odd ones: the plain search finds *a* pass→fail pair
        // and cannot know better; the spot checks beside it see the line is not monotonic.
        let lying = |i: usize| if i.is_multiple_of(2) { Pass } else { Fail };
        let mut plain = regression(101, Some(0), Some(99));
        assert!(matches!(
            run_to_end(&mut plain, lying).0,
            Outcome::Found { .. }
        ));
        let mut checked = Bisection::new(
            101,
            Config {
                direction: Direction::Regression,
                old_end: Some(0),
                new_end: Some(99),
                verify: true,
            },
        )
        .expect("valid");
        let (outcome, probed) = run_to_end(&mut checked, lying);
        assert!(
            matches!(outcome, Outcome::NonMonotonic { .. }),
            "{outcome:?} after {probed:?}"
        );
    }

    #[test]
    fn spot_checks_cost_at_most_two_probes_and_pass_on_an_honest_line() {
        for boundary in [1usize, 2, 40, 97, 98, 99] {
            let mut b = Bisection::new(
                100,
                Config {
                    direction: Direction::Regression,
                    old_end: Some(0),
                    new_end: Some(99),
                    verify: true,
                },
            )
            .expect("valid");
            let (outcome, probed) = run_to_end(&mut b, planted(boundary));
            assert_eq!(
                outcome,
                Outcome::Found {
                    last_old: boundary - 1,
                    first_new: boundary,
                    skipped_between: vec![]
                }
            );
            assert!(probed.len() <= bound(100) + 2, "{boundary}: {probed:?}");
        }
    }

    #[test]
    fn a_state_file_contradicting_the_line_is_reported() {
        // A resumed search whose saved probes say an older version failed and a newer one passed.
        let mut b = regression(100, Some(0), Some(99));
        for (i, o) in [(0, Pass), (99, Fail), (30, Fail), (60, Pass)] {
            b.record(i, o);
        }
        assert_eq!(
            b.decide(),
            Decision::Done(Outcome::NonMonotonic {
                older: 30,
                newer: 60
            })
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        let config = |old_end, new_end| Config {
            direction: Direction::Regression,
            old_end,
            new_end,
            verify: false,
        };
        assert!(Bisection::new(10, config(Some(5), Some(5))).is_err());
        assert!(Bisection::new(10, config(Some(7), Some(3))).is_err());
        assert!(Bisection::new(10, config(None, Some(10))).is_err());
        assert!(Bisection::new(0, config(None, None)).is_err());
    }
}
