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
            if c.members.len() <= self.params.p {
                out.extend(c.members.iter().map(|&m| Comparison { cluster: ci, member: m }));
            } else {
                let mut keyed: Vec<(u64, u32)> =
                    c.members.iter().map(|&m| (mix(self.pid_hash, sample, m), m)).collect();
                // The p smallest keys, in linear time (a cluster can hold hundreds of members).
                if self.params.p > 0 {
                    keyed.select_nth_unstable(self.params.p - 1);
                }
                let mut chosen: Vec<u32> = keyed[..self.params.p].iter().map(|&(_, m)| m).collect();
                chosen.sort_unstable();
                out.extend(chosen.into_iter().map(|m| Comparison { cluster: ci, member: m }));
            }
        }
        out
    }

    /// Assigns `sample`, given a similarity for each comparison from [`Self::comparisons`].
    pub fn assign(&mut self, sample: u32, comparisons: &[Comparison], similarities: &[f32]) -> Assignment {
        let mut sums = vec![(0.0f32, 0usize); self.clusters.len()];
        for (c, &s) in comparisons.iter().zip(similarities) {
            if let Some(slot) = sums.get_mut(c.cluster) {
                slot.0 += s;
                slot.1 += 1;
            }
        }
        // Ties go to the older cluster, so assignment is deterministic.
        let best = sums
            .iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (sum, n))| (i, sum / *n as f32))
            .fold(None::<(usize, f32)>, |acc, (i, m)| match acc {
                Some((_, bm)) if bm >= m => acc,
                _ => Some((i, m)),
            });
        let assignment = match best {
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

    #[test]
    fn tau_is_strict() {
        let mut g = GreedyClustering::new(ClusterParams { tau: 0.5, ..Default::default() }, "p");
        g.assign(0, &[], &[]);
        let c = g.comparisons(1);
        assert!(matches!(g.assign(1, &c, &[0.5]), Assignment::Founded { cluster: 1 }));
    }
}
