package tableservice

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
)

// OwnerHeader is the response header of a refusal that carries the owner's address, for
// clients that do not read error details.
const OwnerHeader = "Weir-Owner-Addr"

// authorize decides whether this worker answers a read of one partition of r, and returns
// the answer's ReadInfo or a FAILED_PRECONDITION refusal naming the owner.
func (s *Service) authorize(ctx context.Context, r cluster.TableRoute, partition int, allowStale bool) (*weirv1.ReadInfo, error) {
	if partition < 0 || partition >= r.Partitions {
		return nil, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("partition %d of table %s.%s: the table has partitions 0 to %d", partition, r.App, r.Table, r.Partitions-1))
	}
	role, epoch, lag, ok := s.cfg.Owns(r.App, r.Group, partition)
	info := &weirv1.ReadInfo{Worker: s.cfg.Worker, Role: string(role), Epoch: epoch, Group: r.Group, Partition: int32(partition)}
	switch {
	case ok && role == cluster.RoleActive:
		return info, nil
	case ok && allowStale && (role == cluster.RoleStandby || role == cluster.RoleWarmup):
		info.Lag = lag
		return info, nil
	}
	heldAs := ""
	if ok {
		heldAs = string(role)
	}
	return nil, s.notOwner(ctx, cluster.TaskKey{App: r.App, Group: r.Group, Partition: partition}, heldAs)
}

// notOwner builds the refusal of a read of task t, naming its active owner as etcd has it.
func (s *Service) notOwner(ctx context.Context, t cluster.TaskKey, heldAs string) error {
	d := &weirv1.NotOwner{App: t.App, Group: t.Group, Partition: int32(t.Partition), Worker: s.cfg.Worker, HeldAs: heldAs}
	what := "does not hold"
	if heldAs != "" {
		what = "holds only a " + heldAs + " replica of"
	}
	owner := s.lookupOwner(ctx, t, d)
	err := connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("worker %s %s task %s; %s", s.cfg.Worker, what, t, owner))
	if detail, derr := connect.NewErrorDetail(d); derr == nil {
		err.AddDetail(detail)
	}
	if d.OwnerAddr != "" {
		err.Meta().Set(OwnerHeader, d.OwnerAddr)
	}
	return err
}

// lookupOwner fills d's owner from etcd and describes it.
func (s *Service) lookupOwner(ctx context.Context, t cluster.TaskKey, d *weirv1.NotOwner) string {
	if s.cfg.Etcd == nil {
		return "its owner is unknown here"
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OwnerLookupTimeout)
	defer cancel()
	a, ok, _, err := cluster.ReadAssignment(ctx, s.cfg.Etcd, s.cfg.Layout, t)
	switch {
	case err != nil:
		s.log.Warn("looking up a task's owner", "task", t.String(), "err", err)
		return fmt.Sprintf("its owner could not be read from etcd: %v", err)
	case !ok || a.Active == "":
		return "the task has no active owner in etcd"
	}
	d.Owner, d.Epoch = a.Active, a.Epoch
	w, found, err := cluster.ReadWorker(ctx, s.cfg.Etcd, s.cfg.Layout, a.Active)
	if err == nil && found {
		d.OwnerAddr = w.Addr
		return fmt.Sprintf("its owner is worker %s at %s (epoch %d)", a.Active, w.Addr, a.Epoch)
	}
	return fmt.Sprintf("its owner is worker %s (epoch %d), which is not registered", a.Active, a.Epoch)
}
