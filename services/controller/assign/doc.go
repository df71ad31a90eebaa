// Package assign is Weir's pure task assignment algorithm: given tasks, workers, the previous
// assignment and the configured standby count N, Compute returns the new assignment and its
// moves. It does no I/O; the controller reads its input from etcd and publishes its output
// through libs/cluster.
//
// Terms. A worker is eligible when it is alive, not draining and has capacity > 0. A task's
// owner is the worker that will be active once its pending handoff completes: its warm-up target
// if it has one, else its active (TaskAssignment.Owner). Balance is defined on owners.
//
// Fair share. With T tasks and eligible capacities c_i summing to C, worker i's fair share is
// f_i = T·c_i/C; every eligible worker owns ⌊f_i⌋ or ⌈f_i⌉ tasks (so within ±1 of f_i), and
// ineligible workers own none (see FairShares).
//
// Algorithm, in order:
//
//  1. Quotas: ⌊f_i⌋ each; the T − Σ⌊f_i⌋ extra tasks go first to workers whose sticky tasks
//     exceed ⌊f_i⌋, then by largest fractional share, then by worker id.
//  2. Owners: a task keeps its pending warm-up target, else its active, while that worker is
//     eligible and below quota; otherwise it goes to its most caught-up eligible standby with
//     room, else round-robin to workers below quota. Only liveness or balance moves a task.
//  3. Actives: an alive active (draining too) stays active; when the owner differs, the owner
//     becomes a warm-up standby and the move is Planned: a later two-phase handoff step (not in
//     this package) makes it active. A lost active is replaced at once (Failover) by the most
//     caught-up eligible standby or warm-up (least reported lag, ties by worker id), or by the
//     owner if none; a Planned move to the owner follows when they differ. Tasks without an
//     active get their owner directly (Initial).
//  4. Standbys: min(N, eligible workers not holding the active or warm-up) per task, never on
//     the active's or a warm-up's worker. Previous standbys stay while eligible; missing ones
//     go to an eligible worker in a zone the task's replicas do not use yet, then below
//     ⌈standby share⌉, then least loaded by capacity, then by id; finally, until nothing moves,
//     a worker more than one below ⌊standby share⌋ takes standbys from workers that stay more
//     loaded than it, where no zone spread is lost. The result is a fixpoint, and a join moves
//     about N times the new worker's share of standbys and nothing else; a computation with a
//     new worker copies at most ⌊N·Σ(f_new + 1)⌋ standbys and leaves any balance move beyond
//     that to the next computation (Result.Deferred). Warm-ups are counted apart from the N
//     standbys.
//
// Everything iterates sorted slices (tasks by app, group, partition; workers by id), so the
// output is deterministic. Cost is O((T·N + W) log W) plus O(T·N·Z) for Z zones, plus, per
// standby the rebalancing moves, O(W log W) and a scan of the donors' standbys.
package assign
