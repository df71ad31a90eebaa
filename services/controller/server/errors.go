package server

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/weirhq/weir/libs/cluster"
)

// LeaderAddrHeader carries the leader's address on a follower's refusal of a write, so that
// clients can retry there.
const LeaderAddrHeader = "Weir-Leader-Addr"

// notLeader is the error a follower (or a deposed leader) answers writes with.
func (s *Service) notLeader(why string) error {
	id, addr := s.cfg.Leadership.Leader()
	var msg string
	switch {
	case id == "":
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("not the leader%s; no leader is elected yet, retry shortly", why))
	case id == s.cfg.ID:
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("not the leader%s; this controller (%s) is taking up or giving up leadership, retry shortly", why, id))
	case addr == "":
		msg = fmt.Sprintf("not the leader%s; leader is %s (address unknown)", why, id)
	default:
		msg = fmt.Sprintf("not the leader%s; leader is %s at %s", why, id, addr)
	}
	err := connect.NewError(connect.CodeFailedPrecondition, errors.New(msg))
	if addr != "" {
		err.Meta().Set(LeaderAddrHeader, addr)
	}
	return err
}

// leaderGuard returns the guard for a write, or the refusal.
func (s *Service) leaderGuard() (*cluster.Guard, error) {
	g, ok := s.cfg.Leadership.Guard()
	if !ok {
		return nil, s.notLeader("")
	}
	return &g, nil
}

// rpcError maps an internal error to a Connect error.
func (s *Service) rpcError(err error) error {
	var ce *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, cluster.ErrNotLeader):
		return s.notLeader(" (leadership was lost; nothing was written)")
	case errors.Is(err, cluster.ErrConflict):
		return connect.NewError(connect.CodeAborted, err)
	case errors.Is(err, cluster.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

func notFound(format string, args ...any) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf(format, args...))
}

func refused(format string, args ...any) *connect.Error {
	return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(format, args...))
}
