//! Judge evaluation: `deepprune judge eval`. Scores same-problem pairs with the trained judge and
//! with the `lexical` and `embedding` baselines on the very same pairs.
//!
//! Reports pooled AUROC (the paper's figure) and within-problem AUROC. Pooled AUROC rewards
//! knowing which problems are easy; clustering happens within a problem, so within-problem AUROC
//! is the figure that predicts pruning quality.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::train::data::{self, LabelledPair};
use super::{JudgeError, PairInput, PairJudge};
use crate::metrics;
use crate::trace::dataset::TraceSet;
use crate::trace::truncate::TruncationSpec;

/// The metrics of one judge on a set of pairs.
#[derive(Debug, Clone, Serialize)]
pub struct PairMetrics {
    /// Pairs scored.
    pub pairs: usize,
    /// Share of pairs whose answers are the same.
    pub base_rate: f64,
    /// Pooled AUROC over all pairs.
    pub auroc: Option<f64>,
    /// Mean per-problem AUROC, weighted by pair count, over problems with both labels.
    pub auroc_within: Option<f64>,
    /// TNR at the threshold with FNR = 0.2.
    pub tnr_at_fnr_0_2: Option<f64>,
    /// Accuracy at threshold 0.5.
    pub accuracy: f64,
}

impl PairMetrics {
    /// Metrics of `scores` on `pairs`.
    pub fn of(pairs: &[LabelledPair], scores: &[f32]) -> Self {
        let labels: Vec<bool> = pairs.iter().map(|p| p.same).collect();
        let groups: Vec<usize> = pairs.iter().map(|p| p.problem).collect();
        Self::from_labels(&labels, &groups, scores)
    }

    /// Metrics of `scores` given each pair's label and problem index.
    pub fn from_labels(labels: &[bool], groups: &[usize], scores: &[f32]) -> Self {
        Self {
            pairs: labels.len(),
            base_rate: labels.iter().filter(|&&l| l).count() as f64 / labels.len().max(1) as f64,
            auroc: metrics::auroc(scores, labels),
            auroc_within: metrics::auroc_within(groups, scores, labels),
            tnr_at_fnr_0_2: metrics::tnr_at_fnr(scores, labels, 0.2),
            accuracy: metrics::accuracy_at(scores, labels, 0.5),
        }
    }
}

/// Baseline metrics on the same pairs.
#[derive(Debug, Clone, Serialize)]
pub struct Baselines {
    /// Number and bigram overlap.
    pub lexical: PairMetrics,
    /// MiniLM embedding cosine.
    pub embedding: Option<PairMetrics>,
}

/// `judge eval`'s output; the key names are a stable interface.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The trained judge's metrics (absent with `--baselines-only`).
    #[serde(flatten)]
    pub model: Option<PairMetrics>,
    /// The baselines.
    pub baselines: Baselines,
    /// How prefixes were cut, e.g. `tokens:64`.
    pub prefix: String,
}

/// The evaluation pairs: every same-problem pair of labelled traces, cut with `spec`, then a
/// seeded sample stratified per problem.
pub fn eval_pairs(
    traces: &TraceSet,
    spec: &TruncationSpec,
    max_pairs: Option<usize>,
    seed: u64,
) -> Result<Vec<LabelledPair>, crate::trace::truncate::TruncateError> {
    let prefixes = data::prefixes(traces, spec)?;
    let all: Vec<usize> = (0..prefixes.len()).collect();
    Ok(data::sample_stratified(data::all_pairs(&prefixes, &all), max_pairs, seed))
}

/// Scores pairs with a judge in chunks.
pub fn score_all(judge: &mut dyn PairJudge, pairs: &[LabelledPair], chunk: usize) -> Result<Vec<f32>, JudgeError> {
    let mut out = Vec::with_capacity(pairs.len());
    for c in pairs.chunks(chunk.max(1)) {
        let inputs: Vec<PairInput> = c.iter().map(|p| PairInput { a: p.a.clone(), b: p.b.clone() }).collect();
        out.extend(judge.score(&inputs)?);
    }
    Ok(out)
}

/// Every judge's score of every pair, in pair order (for ROC curves).
#[derive(Debug, Clone)]
pub struct EvalScores {
    /// The trained judge, where it ran.
    pub model: Option<Vec<f32>>,
    /// The lexical baseline.
    pub lexical: Vec<f32>,
    /// The embedding baseline, where it ran.
    pub embedding: Option<Vec<f32>>,
}

impl EvalScores {
    /// (name, scores) for each judge that ran.
    pub fn named(&self) -> Vec<(&'static str, &[f32])> {
        let mut out = Vec::new();
        if let Some(m) = &self.model {
            out.push(("model", m.as_slice()));
        }
        out.push(("lexical", self.lexical.as_slice()));
        if let Some(e) = &self.embedding {
            out.push(("embedding", e.as_slice()));
        }
        out
    }
}

/// Evaluates `model` (unless `None`: the baselines alone) and the baselines on the same pairs;
/// returns the metrics and the scores.
pub fn evaluate(
    model: Option<&mut (dyn PairJudge + '_)>,
    embedding: Option<&mut (dyn PairJudge + '_)>,
    pairs: &[LabelledPair],
    spec: &TruncationSpec,
) -> Result<(EvalReport, EvalScores), JudgeError> {
    let chunk = 2048;
    let model_scores = match model {
        Some(m) => Some(score_all(m, pairs, chunk)?),
        None => None,
    };
    let lexical = score_all(&mut super::lexical::LexicalJudge::default(), pairs, chunk)?;
    let embedding_scores = match embedding {
        Some(e) => Some(score_all(e, pairs, chunk)?),
        None => None,
    };
    let embedding = embedding_scores.as_ref().map(|s| PairMetrics::of(pairs, s));
    let mode = match spec.mode() {
        crate::trace::truncate::PrefixMode::Tokens => "tokens",
        crate::trace::truncate::PrefixMode::ReasoningWords => "reasoning_words",
    };
    let report = EvalReport {
        model: model_scores.as_ref().map(|s| PairMetrics::of(pairs, s)),
        baselines: Baselines { lexical: PairMetrics::of(pairs, &lexical), embedding },
        prefix: format!("{mode}:{}", spec.count()),
    };
    Ok((report, EvalScores { model: model_scores, lexical, embedding: embedding_scores }))
}

/// Reads the truncation a checkpoint was trained with (its first checkpoint).
pub fn checkpoint_spec(dir: &Path) -> Result<TruncationSpec, super::train::CheckpointMetaError> {
    Ok(super::train::CheckpointMeta::read(dir)?.train.truncator.spec())
}

/// Every cut a checkpoint was trained with: its `count`, then each of its later checkpoints.
pub fn checkpoint_specs(dir: &Path) -> Result<Vec<TruncationSpec>, super::train::CheckpointMetaError> {
    Ok(super::train::CheckpointMeta::read(dir)?.train.truncator.checkpoint_specs())
}

/// Why the ROC curves could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RocError {
    /// The folder or `roc.csv` could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The plots could not be drawn or written.
    #[error("{0}")]
    Plot(String),
}

/// Writes the ROC curves of every judge in `scores` to `dir`: `roc.csv` (judge, fpr, tpr) and the
/// plots `roc.png` and `roc.svg`.
pub fn write_roc(dir: &Path, pairs: &[LabelledPair], scores: &EvalScores, prefix: &str) -> Result<(), RocError> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir).map_err(|source| RocError::Io { path: dir.to_path_buf(), source })?;
    let labels: Vec<bool> = pairs.iter().map(|p| p.same).collect();
    let mut csv = String::from("judge,fpr,tpr\n");
    let mut curves = Vec::new();
    for (name, s) in scores.named() {
        let points = crate::metrics::roc_curve(s, &labels, 400);
        for (x, y) in &points {
            let _ = writeln!(csv, "{name},{x:.6},{y:.6}");
        }
        let auroc = crate::metrics::auroc(s, &labels).map_or("n/a".to_string(), |a| format!("{a:.3}"));
        curves.push(crate::plot::RocCurve { label: format!("{name} (AUROC {auroc})"), points });
    }
    let path = dir.join("roc.csv");
    std::fs::write(&path, csv).map_err(|source| RocError::Io { path, source })?;
    crate::plot::roc(dir, &format!("Judge ROC, pooled over all pairs ({prefix} prefixes)"), &curves).map_err(RocError::Plot)
}
