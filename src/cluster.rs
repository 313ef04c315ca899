//! DeepPrune's online greedy clustering (DeepPrune §3.3), as a plain struct.
//!
//! Each new prefix is compared with up to `p` members of every existing cluster. If its mean
//! similarity to the best cluster exceeds τ it joins that cluster (and its generation is
//! stopped); otherwise it founds a new cluster.
//!
//! **When K clusters already exist**, a prefix that matches no cluster joins the cluster with the
//! highest mean similarity anyway, and the assignment is recorded as [`Assignment::Forced`]. This
//! keeps the number of fully generated traces bounded by K, which is the point of the cap. What
//! such a forced join counts for is [`ForcedJoin`]: by default it is pruned but adds no weight
//! to the cluster it was put in (its similarity to it can be near 0), so it neither makes that
//! cluster look larger nor votes through its founder.

use std::hash::{Hash, Hasher};

/// DeepPrune's clustering parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterParams {
    /// τ, the similarity a prefix must exceed to join a cluster.
    pub tau: f32,
    /// p, the most members of each cluster a new prefix is compared with.
    pub p: usize,
    /// K, the cluster cap.
    pub k: usize,
    /// Seed for choosing which members are compared when a cluster has more than p.
    pub seed: u64,
    /// What a forced join (K clusters full, no match) counts for.
    pub forced_join: ForcedJoin,
}

impl ClusterParams {
    /// The parameters a pipeline's `clusterer` section sets.
    pub fn from_config(c: &crate::config::ClustererConfig) -> Self {
        Self { tau: c.tau, p: c.p, k: c.k, seed: c.seed, forced_join: c.forced_join }
    }
}

impl Default for ClusterParams {
    fn default() -> Self {
        // τ = 0.5, p = 10, K = 32: DeepPrune §4 defaults.
        Self { tau: 0.5, p: 10, k: 32, seed: 0, forced_join: ForcedJoin::default() }
    }
}

pub use crate::config::ForcedJoin;

/// A cluster of traces whose prefixes the judge found equivalent; the first member is the founder.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cluster {
    /// Trace sample indices in join order.
    pub members: Vec<u32>,
    /// Traces put here by a forced join under [`ForcedJoin::Abstain`]: pruned, and not members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced: Vec<u32>,
}

impl Cluster {
    /// A cluster of `members` and no forced joins.
    pub fn of(members: Vec<u32>) -> Self {
        Self { members, forced: Vec::new() }
    }

    /// The trace that founded the cluster.
    pub fn founder(&self) -> u32 {
        self.members[0]
    }
}

/// Where a new prefix went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Assignment {
    /// It founded cluster `cluster`; its generation continues.
    Founded {
        /// Index of the new cluster.
        cluster: usize,
    },
    /// Its mean similarity to `cluster` exceeded τ; it is pruned.
    Joined {
        /// Index of the cluster joined.
        cluster: usize,
        /// Mean similarity to that cluster's compared members.
        similarity: f32,
    },
    /// K clusters existed and none matched; it joined the most similar one and is pruned.
    Forced {
        /// Index of the cluster joined.
        cluster: usize,
        /// Mean similarity to that cluster's compared members.
        similarity: f32,
    },
}

impl Assignment {
    /// The cluster the prefix belongs to.
    pub fn cluster(&self) -> usize {
        match *self {
            Assignment::Founded { cluster } | Assignment::Joined { cluster, .. } | Assignment::Forced { cluster, .. } => {
                cluster
            }
        }
    }

    /// True when the trace's generation is stopped.
    pub fn prunes(&self) -> bool {
        !matches!(self, Assignment::Founded { .. })
    }
}

/// One comparison the clusterer needs: the new prefix against `member` of `cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// Index of the cluster.
    pub cluster: usize,
    /// The member's sample index.
    pub member: u32,
}

/// The clusters of one problem, built online.
#[derive(Debug, Clone, PartialEq)]
pub struct GreedyClustering {
    params: ClusterParams,
    pid_hash: u64,
    clusters: Vec<Cluster>,
}

impl GreedyClustering {
    /// Empty clustering for problem `pid`.
    pub fn new(params: ClusterParams, pid: &str) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        pid.hash(&mut h);
        params.seed.hash(&mut h);
        Self { params, pid_hash: h.finish(), clusters: Vec::new() }
    }

    /// The clusters so far.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// The comparisons to judge for new trace `sample`: up to p members of each cluster.
    ///
    /// When a cluster has more than p members, which p are compared is a pure function of the
    /// seed, the problem and the sample, so reruns and restarts choose the same ones.
    pub fn comparisons(&self, sample: u32) -> Vec<Comparison> {
        let mut out = Vec::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            out.extend(self.choose(sample, &c.members).into_iter().map(|m| Comparison { cluster: ci, member: m }));
        }
        out
    }

    /// Assigns `sample`, given a similarity for each comparison from [`Self::comparisons`].
    pub fn assign(&mut self, sample: u32, comparisons: &[Comparison], similarities: &[f32]) -> Assignment {
        let assignment = match self.best_match(comparisons, similarities) {
            Some((cluster, similarity)) if similarity > self.params.tau => Assignment::Joined { cluster, similarity },
            Some((cluster, similarity)) if self.clusters.len() >= self.params.k => {
                Assignment::Forced { cluster, similarity }
            }
            _ => {
                self.clusters.push(Cluster::default());
                Assignment::Founded { cluster: self.clusters.len() - 1 }
            }
        };
        let cluster = &mut self.clusters[assignment.cluster()];
        match (assignment, self.params.forced_join) {
            (Assignment::Forced { .. }, ForcedJoin::Abstain) => cluster.forced.push(sample),
            _ => cluster.members.push(sample),
        }
        assignment
    }
}

/// Staged judging (beyond the paper): a prefix is judged at a short checkpoint, and a decision too
/// close to τ waits for the trace's prefix at a longer one. These are additions to the greedy
/// clustering above; [`GreedyClustering::assign`] is unchanged.
impl GreedyClustering {
    /// The most similar cluster and its mean similarity over the compared members, as
    /// [`Self::assign`] picks it (ties go to the older cluster); `None` without comparisons.
    pub fn best_match(&self, comparisons: &[Comparison], similarities: &[f32]) -> Option<(usize, f32)> {
        let mut sums = vec![(0.0f32, 0usize); self.clusters.len()];
        for (c, &s) in comparisons.iter().zip(similarities) {
            if let Some(slot) = sums.get_mut(c.cluster) {
                slot.0 += s;
                slot.1 += 1;
            }
        }
        sums.iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (sum, n))| (i, sum / *n as f32))
            .fold(None::<(usize, f32)>, |acc, (i, m)| match acc {
                Some((_, bm)) if bm >= m => acc,
                _ => Some((i, m)),
            })
    }

    /// Decides `sample` as [`Self::assign`] does, unless the decision is too close to τ to trust
    /// at this checkpoint: then it returns `None` and changes nothing. The trace is undecided: it
    /// is in no cluster, nobody is compared with it, and it keeps generating until its next
    /// checkpoint.
    ///
    /// Undecided means the best cluster's mean similarity m lies in the band around τ:
    /// `τ − band < m ≤ τ + band`. The interval is open below and closed above so that it is empty
    /// for band 0, and `decide(.., 0.0)` is exactly `assign` (the last checkpoint decides with
    /// band 0). A trace with nothing to compare with founds a cluster at once. With K clusters
    /// every outcome prunes (a join or a forced join), so waiting cannot change whether the trace
    /// stops: it is decided at once.
    pub fn decide(&mut self, sample: u32, comparisons: &[Comparison], similarities: &[f32], band: f32) -> Option<Assignment> {
        let tau = self.params.tau;
        let undecided = band > 0.0
            && self.clusters.len() < self.params.k
            && self.best_match(comparisons, similarities).is_some_and(|(_, m)| tau - band < m && m <= tau + band);
        (!undecided).then(|| self.assign(sample, comparisons, similarities))
    }

    /// The comparisons for `sample` at a later checkpoint, among the members that reached it
    /// (`reached(member)`; a pruned member stopped generating before it): up to p of each
    /// cluster's, chosen as [`Self::comparisons`] chooses. A cluster none of whose members reached
    /// it is compared through its founder alone, whose longest prefix so far the caller uses, so
    /// that every cluster stays a candidate. With every member reached this is
    /// [`Self::comparisons`].
    pub fn comparisons_among(&self, sample: u32, reached: impl Fn(u32) -> bool) -> Vec<Comparison> {
        let mut out = Vec::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            let eligible: Vec<u32> = c.members.iter().copied().filter(|&m| reached(m)).collect();
            let chosen = if eligible.is_empty() { vec![c.founder()] } else { self.choose(sample, &eligible) };
            out.extend(chosen.into_iter().map(|m| Comparison { cluster: ci, member: m }));
        }
        out
    }

    /// Up to p of `members` for `sample`: all of them when they are at most p, else the p that
    /// [`Self::comparisons`] would choose among them, in sample order.
    fn choose(&self, sample: u32, members: &[u32]) -> Vec<u32> {
        if members.len() <= self.params.p {
            return members.to_vec();
        }
        let mut keyed: Vec<(u64, u32)> = members.iter().map(|&m| (mix(self.pid_hash, sample, m), m)).collect();
        // The p smallest keys, in linear time (a cluster can hold hundreds of members).
        if self.params.p > 0 {
            keyed.select_nth_unstable(self.params.p - 1);
        }
        let mut chosen: Vec<u32> = keyed[..self.params.p].iter().map(|&(_, m)| m).collect();
        chosen.sort_unstable();
        chosen
    }
}

fn mix(a: u64, b: u32, c: u32) -> u64 {
    // splitmix64 over the three keys: cheap, stable across platforms and Rust versions.
    let mut z = a ^ ((b as u64) << 32 | c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clusters samples with a judge that knows a hidden label per sample.
    fn run(labels: &[u32], params: ClusterParams) -> (Vec<Vec<u32>>, Vec<Assignment>) {
        let mut g = GreedyClustering::new(params, "p");
        let mut assignments = Vec::new();
        for (s, _) in labels.iter().enumerate() {
            let comps = g.comparisons(s as u32);
            let sims: Vec<f32> =
                comps.iter().map(|c| if labels[c.member as usize] == labels[s] { 0.9 } else { 0.1 }).collect();
            assignments.push(g.assign(s as u32, &comps, &sims));
        }
        (g.clusters().iter().map(|c| c.members.clone()).collect(), assignments)
    }

    #[test]
    fn a_perfect_judge_recovers_the_partition() {
        let (clusters, a) = run(&[0, 1, 0, 2, 1, 0], ClusterParams::default());
        assert_eq!(clusters, vec![vec![0, 2, 5], vec![1, 4], vec![3]]);
        assert_eq!(a.iter().filter(|a| a.prunes()).count(), 3);
    }

    #[test]
    fn cap_forces_into_most_similar_cluster() {
        for forced_join in [ForcedJoin::Count, ForcedJoin::Abstain] {
            let params = ClusterParams { k: 2, forced_join, ..ClusterParams::default() };
            let (clusters, a) = run(&[0, 1, 2], params);
            assert_eq!(clusters.len(), 2);
            assert!(matches!(a[2], Assignment::Forced { cluster: 0, .. }), "{:?}", a[2]);
            assert!(a[2].prunes());
        }
    }

    #[test]
    fn an_abstaining_forced_join_is_kept_apart_from_the_members() {
        let labels = [0, 1, 2, 0, 3];
        let params = ClusterParams { k: 2, forced_join: ForcedJoin::Abstain, ..ClusterParams::default() };
        let mut g = GreedyClustering::new(params, "p");
        for (s, _) in labels.iter().enumerate() {
            let comps = g.comparisons(s as u32);
            // Forced members are never compared with: only real members are.
            assert!(comps.iter().all(|c| g.clusters()[c.cluster].members.contains(&c.member)));
            let sims: Vec<f32> =
                comps.iter().map(|c| if labels[c.member as usize] == labels[s] { 0.9 } else { 0.1 }).collect();
            g.assign(s as u32, &comps, &sims);
        }
        // 2 and 4 match nothing with K = 2 full: forced, abstaining; 3 joins 0's cluster for real.
        let got: Vec<(Vec<u32>, Vec<u32>)> = g.clusters().iter().map(|c| (c.members.clone(), c.forced.clone())).collect();
        assert_eq!(got, vec![(vec![0, 3], vec![2, 4]), (vec![1], vec![])]);
        // Under `count` the same traces become members.
        let (clusters, _) = run(&labels, ClusterParams { k: 2, forced_join: ForcedJoin::Count, ..ClusterParams::default() });
        assert_eq!(clusters, vec![vec![0, 2, 3, 4], vec![1]]);
    }

    #[test]
    fn compares_at_most_p_members_deterministically() {
        let params = ClusterParams { p: 3, ..ClusterParams::default() };
        let (_, _) = run(&[0; 10], params);
        let mut g = GreedyClustering::new(params, "p");
        for s in 0..10 {
            let c = g.comparisons(s);
            let sims = vec![1.0; c.len()];
            g.assign(s, &c, &sims);
        }
        let a = g.comparisons(42);
        assert_eq!(a.len(), 3);
        assert_eq!(a, g.comparisons(42));
        assert_ne!(a, g.comparisons(43), "different samples should usually compare different members");
    }

    /// A clustering whose clusters have these members (each founder first, the rest joined).
    fn clustered(groups: &[&[u32]], params: ClusterParams) -> GreedyClustering {
        let mut g = GreedyClustering::new(params, "p");
        for group in groups {
            let founder = g.comparisons(group[0]);
            g.assign(group[0], &founder, &vec![0.0; founder.len()]);
            let cluster = g.clusters().len() - 1;
            for &m in &group[1..] {
                let c = g.comparisons(m);
                let sims: Vec<f32> = c.iter().map(|c| if c.cluster == cluster { 1.0 } else { 0.0 }).collect();
                g.assign(m, &c, &sims);
            }
        }
        g
    }

    #[test]
    fn decide_waits_inside_the_band_and_decides_outside_it() {
        use Assignment::*;
        // τ = 0.5 and band 0.25 are exact in binary, so the band's edges are exact too.
        let one: &[&[u32]] = &[&[0]];
        let two: &[&[u32]] = &[&[0], &[1]];
        let pair: &[&[u32]] = &[&[0, 1]];
        // (case, clusters, K, similarity per comparison, band, wanted)
        let cases: &[(&str, &[&[u32]], usize, &[f32], f32, Option<Assignment>)] = &[
            ("above the band joins", one, 32, &[0.9], 0.25, Some(Joined { cluster: 0, similarity: 0.9 })),
            ("just above the band joins", one, 32, &[0.76], 0.25, Some(Joined { cluster: 0, similarity: 0.76 })),
            ("the band's top edge waits", one, 32, &[0.75], 0.25, None),
            ("inside the band above tau waits", one, 32, &[0.6], 0.25, None),
            ("tau itself waits", one, 32, &[0.5], 0.25, None),
            ("inside the band below tau waits", one, 32, &[0.3], 0.25, None),
            ("the band's bottom edge founds", one, 32, &[0.25], 0.25, Some(Founded { cluster: 1 })),
            ("below the band founds", one, 32, &[0.1], 0.25, Some(Founded { cluster: 1 })),
            ("the best cluster is in the band: waits", two, 32, &[0.1, 0.7], 0.25, None),
            ("the best cluster is above it: joins", two, 32, &[0.3, 0.9], 0.25, Some(Joined { cluster: 1, similarity: 0.9 })),
            ("the mean over members is in the band", pair, 32, &[0.9, 0.5], 0.25, None),
            ("the mean over members is above it", pair, 32, &[1.0, 0.75], 0.25, Some(Joined { cluster: 0, similarity: 0.875 })),
            ("nothing to compare with founds", &[], 32, &[], 0.25, Some(Founded { cluster: 0 })),
            ("the last checkpoint (band 0) joins above tau", one, 32, &[0.6], 0.0, Some(Joined { cluster: 0, similarity: 0.6 })),
            ("the last checkpoint (band 0) founds at tau", one, 32, &[0.5], 0.0, Some(Founded { cluster: 1 })),
            ("K full: a join in the band is decided", two, 2, &[0.6, 0.1], 0.25, Some(Joined { cluster: 0, similarity: 0.6 })),
            ("K full: a forced join in the band is decided", two, 2, &[0.45, 0.1], 0.25, Some(Forced { cluster: 0, similarity: 0.45 })),
        ];
        for &(case, groups, k, sims, band, wanted) in cases {
            let mut g = clustered(groups, ClusterParams { tau: 0.5, k, ..ClusterParams::default() });
            let before = g.clusters().to_vec();
            let comps = g.comparisons(100);
            assert_eq!(comps.len(), sims.len(), "{case}: the table gives one similarity per comparison");
            let got = g.decide(100, &comps, sims, band);
            assert_eq!(got, wanted, "{case}");
            match got {
                None => assert_eq!(g.clusters(), &before[..], "{case}: an undecided trace is in no cluster"),
                Some(a) => {
                    // A forced join abstains by default: it is kept beside the members.
                    let c = &g.clusters()[a.cluster()];
                    let placed = if matches!(a, Forced { .. }) { &c.forced } else { &c.members };
                    assert_eq!(placed.last(), Some(&100), "{case}");
                }
            }
        }
    }

    #[test]
    fn decide_with_band_zero_is_assign() {
        let params = ClusterParams { tau: 0.5, k: 3, ..ClusterParams::default() };
        for groups in [&[][..], &[&[0u32][..]][..], &[&[0, 1][..], &[2][..]][..], &[&[0][..], &[1][..], &[2, 3][..]][..]] {
            for step in 0..=20 {
                let base = clustered(groups, params);
                let comps = base.comparisons(100);
                let sims: Vec<f32> = (0..comps.len()).map(|i| (step as f32 * 0.05 + i as f32 * 0.13) % 1.0).collect();
                let (mut a, mut b) = (base.clone(), base);
                assert_eq!(a.decide(100, &comps, &sims, 0.0), Some(b.assign(100, &comps, &sims)), "{groups:?} {sims:?}");
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn later_comparisons_use_only_members_that_reached_the_checkpoint() {
        let params = ClusterParams { p: 2, ..ClusterParams::default() };
        let g = clustered(&[&[0, 1, 2, 3], &[4, 5]], params);
        let pairs = |reached: &[u32]| -> Vec<(usize, u32)> {
            g.comparisons_among(100, |m| reached.contains(&m)).iter().map(|c| (c.cluster, c.member)).collect()
        };
        // Every member reached it: the same comparisons as at the first checkpoint.
        assert_eq!(g.comparisons_among(100, |_| true), g.comparisons(100));
        // (members that reached the checkpoint, wanted comparisons)
        let cases: &[(&[u32], &[(usize, u32)])] = &[
            (&[0, 4], &[(0, 0), (1, 4)]),
            (&[2, 3, 5], &[(0, 2), (0, 3), (1, 5)]),
            // No member of cluster 1 reached it: its founder stands for it.
            (&[1, 2], &[(0, 1), (0, 2), (1, 4)]),
            (&[], &[(0, 0), (1, 4)]),
        ];
        for (reached, wanted) in cases {
            assert_eq!(pairs(reached), wanted.to_vec(), "reached {reached:?}");
        }
        // More than p reached: p of them, chosen deterministically.
        let chosen = pairs(&[1, 2, 3]);
        assert_eq!(chosen.iter().filter(|(c, _)| *c == 0).count(), 2);
        assert!(chosen.iter().all(|&(c, m)| c == 1 || [1, 2, 3].contains(&m)), "{chosen:?}");
        assert_eq!(chosen, pairs(&[1, 2, 3]));
    }

    #[test]
    fn tau_is_strict() {
        let mut g = GreedyClustering::new(ClusterParams { tau: 0.5, ..Default::default() }, "p");
        g.assign(0, &[], &[]);
        let c = g.comparisons(1);
        assert!(matches!(g.assign(1, &c, &[0.5]), Assignment::Founded { cluster: 1 }));
    }
}
