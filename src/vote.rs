//! Majority voting over final answers, with answers grouped by equivalence.

use crate::answer::Answer;
use crate::cluster::Cluster;
use crate::config::FinishPolicy;

/// One vote: an answer (or an abstention) and its weight.
#[derive(Debug, Clone)]
pub struct Ballot {
    /// The trace's final answer; `None` abstains.
    pub answer: Option<Answer>,
    /// The vote's weight (1 for plain majority; cluster size for the `founders` policy).
    pub weight: f64,
}

/// The winning ballot's index: the first ballot of the answer group with the largest total
/// weight. Ties go to the group seen first, so the vote is deterministic. `None` if every
/// ballot abstains.
pub fn majority(ballots: &[Ballot]) -> Option<usize> {
    // (representative ballot index, total weight)
    let mut groups: Vec<(usize, f64)> = Vec::new();
    for (i, b) in ballots.iter().enumerate() {
        let Some(a) = &b.answer else { continue };
        let found = groups.iter_mut().find(|(rep, _)| {
            ballots[*rep].answer.as_ref().is_some_and(|r| r.equivalent(a))
        });
        match found {
            Some(g) => g.1 += b.weight,
            None => groups.push((i, b.weight)),
        }
    }
    groups
        .iter()
        .fold(None::<(usize, f64)>, |best, &(rep, w)| match best {
            Some((_, bw)) if bw >= w => best,
            _ => Some((rep, w)),
        })
        .map(|(rep, _)| rep)
}

/// Group ids for answers: equal ids mean equivalent answers; `None` for no answer.
pub fn answer_groups(answers: &[Option<Answer>]) -> Vec<Option<usize>> {
    let mut reps: Vec<&Answer> = Vec::new();
    answers
        .iter()
        .map(|a| {
            let a = a.as_ref()?;
            Some(match reps.iter().position(|r| r.equivalent(a)) {
                Some(g) => g,
                None => {
                    reps.push(a);
                    reps.len() - 1
                }
            })
        })
        .collect()
}

/// The traces to run to completion once every trace is clustered.
///
/// - `largest_cluster` (DeepPrune's): the first `top_k` members, in join order, of the largest
///   cluster (ties: the older cluster).
/// - `founders`: every cluster's founder.
/// - Without pruning (`prune = false`): every trace.
///
/// Forced joins kept apart from a cluster's members ([`Cluster::forced`]) are never completed.
///
/// `warmup` traces always run to completion as well: the `warmup` smallest sample indices among
/// the clustered traces (forced joins included), DeepConf's warm-up (DeepConf's threshold is read off their whole
/// traces, so they cannot be stopped at their prefix). 0 without a DeepConf stop policy.
pub fn survivors(policy: FinishPolicy, clusters: &[Cluster], top_k: usize, prune: bool, warmup: usize) -> Vec<u32> {
    let every = || clusters.iter().flat_map(|c| c.members.iter().copied());
    let mut out: Vec<u32> = if !prune {
        every().collect()
    } else {
        match policy {
            FinishPolicy::LargestCluster => clusters
                .iter()
                .fold(None::<&Cluster>, |best, c| match best {
                    Some(b) if b.members.len() >= c.members.len() => Some(b),
                    _ => Some(c),
                })
                .map(|c| c.members.iter().copied().take(top_k).collect())
                .unwrap_or_default(),
            FinishPolicy::Founders => clusters.iter().map(Cluster::founder).collect(),
        }
    };
    if warmup > 0 && prune {
        let mut all: Vec<u32> = every().chain(clusters.iter().flat_map(|c| c.forced.iter().copied())).collect();
        all.sort_unstable();
        out.extend(all.into_iter().take(warmup));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The weight of a survivor's vote. Every clustered trace carries one unit of weight: a
/// survivor casts its own; under `founders`, a stopped member's unit goes to its cluster's
/// founder, so a founder weighs 1 plus its cluster's members that are not `survivors`.
/// Otherwise every vote weighs 1.
pub fn vote_weight(policy: FinishPolicy, clusters: &[Cluster], sample: u32, prune: bool, survivors: &[u32]) -> f64 {
    match (policy, prune) {
        (FinishPolicy::Founders, true) => clusters.iter().find(|c| c.founder() == sample).map_or(1.0, |c| {
            1.0 + c.members[1..].iter().filter(|m| survivors.binary_search(m).is_err()).count() as f64
        }),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ballots(items: &[(Option<&str>, f64)]) -> Vec<Ballot> {
        items.iter().map(|(a, w)| Ballot { answer: a.map(Answer::parse), weight: *w }).collect()
    }

    #[test]
    fn votes_by_equivalence_weight_and_first_seen_ties() {
        let cases: &[(&[(Option<&str>, f64)], Option<usize>)] = &[
            (&[(Some("1/2"), 1.0), (Some("3"), 1.0), (Some("0.5"), 1.0)], Some(0)),
            (&[(Some("3"), 1.0), (Some("4"), 1.0)], Some(0)),
            (&[(Some("3"), 1.0), (Some("4"), 2.0)], Some(1)),
            (&[(None, 5.0), (Some("4"), 1.0)], Some(1)),
            (&[(None, 1.0)], None),
            (&[], None),
            (&[(Some("7"), 1.0), (Some("8"), 1.0), (Some("8"), 1.0), (Some("7"), 1.0), (Some("7"), 1.0)], Some(0)),
        ];
        for (items, want) in cases {
            assert_eq!(majority(&ballots(items)), *want, "{items:?}");
        }
    }

    #[test]
    fn survivors_follow_the_policy() {
        let clusters = vec![
            Cluster::of(vec![0, 3]),
            Cluster::of(vec![1, 2, 5, 6]),
            Cluster::of(vec![4]),
        ];
        assert_eq!(survivors(FinishPolicy::LargestCluster, &clusters, 10, true, 0), vec![1, 2, 5, 6]);
        assert_eq!(survivors(FinishPolicy::LargestCluster, &clusters, 2, true, 0), vec![1, 2]);
        assert_eq!(survivors(FinishPolicy::Founders, &clusters, 2, true, 0), vec![0, 1, 4]);
        assert_eq!(survivors(FinishPolicy::Founders, &clusters, 2, false, 0), vec![0, 1, 2, 3, 4, 5, 6]);
        let founders = survivors(FinishPolicy::Founders, &clusters, 2, true, 0);
        assert_eq!(vote_weight(FinishPolicy::Founders, &clusters, 1, true, &founders), 4.0);
        assert_eq!(vote_weight(FinishPolicy::LargestCluster, &clusters, 1, true, &founders), 1.0);
        let tie = vec![Cluster::of(vec![7, 8]), Cluster::of(vec![1, 2])];
        assert_eq!(survivors(FinishPolicy::LargestCluster, &tie, 10, true, 0), vec![7, 8]);
    }

    #[test]
    fn warmup_traces_survive_and_their_weight_is_not_counted_twice() {
        let clusters = vec![
            Cluster::of(vec![0, 3]),
            Cluster::of(vec![1, 2, 5, 6]),
            Cluster::of(vec![4]),
        ];
        // Warm-up 3: samples 0, 1 and 2 always complete, whatever the policy picks.
        assert_eq!(survivors(FinishPolicy::LargestCluster, &clusters, 1, true, 3), vec![0, 1, 2]);
        let s = survivors(FinishPolicy::Founders, &clusters, 1, true, 3);
        assert_eq!(s, vec![0, 1, 2, 4]);
        // Founder 1 votes for itself and for 5 and 6; warm-up member 2 casts its own vote.
        assert_eq!(vote_weight(FinishPolicy::Founders, &clusters, 1, true, &s), 3.0);
        assert_eq!(vote_weight(FinishPolicy::Founders, &clusters, 2, true, &s), 1.0);
        let total: f64 = s.iter().map(|&m| vote_weight(FinishPolicy::Founders, &clusters, m, true, &s)).sum();
        assert_eq!(total, 7.0, "every clustered trace carries one unit of weight");
        // The warm-up is the smallest sample indices among the clustered traces.
        let sparse = vec![Cluster::of(vec![9, 12]), Cluster::of(vec![10])];
        assert_eq!(survivors(FinishPolicy::Founders, &sparse, 1, true, 2), vec![9, 10]);
        assert_eq!(survivors(FinishPolicy::LargestCluster, &sparse, 1, true, 2), vec![9, 10]);
        // Without pruning every trace survives anyway.
        assert_eq!(survivors(FinishPolicy::Founders, &clusters, 1, false, 3), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn abstaining_forced_joins_carry_no_weight_and_no_size() {
        // Cluster 0 holds 2 members and 3 forced joins; cluster 1 holds 3 members.
        let abstain = vec![Cluster { members: vec![0, 5], forced: vec![2, 3, 4] }, Cluster::of(vec![1, 6, 7])];
        // The same traces when forced joins count (DeepPrune's rule): cluster 0 is the largest.
        let count = vec![Cluster::of(vec![0, 2, 3, 4, 5]), Cluster::of(vec![1, 6, 7])];
        assert_eq!(survivors(FinishPolicy::LargestCluster, &abstain, 10, true, 0), vec![1, 6, 7]);
        assert_eq!(survivors(FinishPolicy::LargestCluster, &count, 10, true, 0), vec![0, 2, 3, 4, 5]);
        for (clusters, founder_weight) in [(&abstain, 2.0), (&count, 5.0)] {
            let s = survivors(FinishPolicy::Founders, clusters, 10, true, 0);
            assert_eq!(s, vec![0, 1]);
            assert_eq!(vote_weight(FinishPolicy::Founders, clusters, 0, true, &s), founder_weight);
            assert_eq!(vote_weight(FinishPolicy::Founders, clusters, 1, true, &s), 3.0);
        }
        // A forced join among the warm-up still completes and votes for itself.
        assert_eq!(survivors(FinishPolicy::Founders, &abstain, 10, true, 3), vec![0, 1, 2]);
    }

    #[test]
    fn groups_equivalent_answers() {
        let answers: Vec<Option<Answer>> = ["2", "x", "2.0"].iter().map(|s| Some(Answer::parse(s))).chain([None]).collect();
        assert_eq!(answer_groups(&answers), vec![Some(0), Some(1), Some(0), None]);
    }
}
