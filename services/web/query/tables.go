package query

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/web/router"
)

// Page sizes of ScanTable.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// GetTableValue reads one key at its owner (windows of it, for a windowed table).
func (s *Service) GetTableValue(ctx context.Context, req *connect.Request[weirv1.GetTableValueRequest]) (*connect.Response[weirv1.GetTableValueResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	m := req.Msg
	r, err := s.route(ctx, m.GetApp(), m.GetTable())
	if err != nil {
		return nil, err
	}
	if m.GetKey() == nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("a key is required"))
	}
	key, err := r.EncodeKey(m.GetKey().AsInterface())
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("key of table %s.%s: %w", r.App, r.Table, err))
	}
	tk := &weirv1.TableKey{Encoded: key}
	out := &weirv1.GetTableValueResponse{}
	switch {
	case r.Window != nil:
		if m.GetFromMs() > m.GetToMs() && m.GetToMs() != 0 {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("from_ms %d is after to_ms %d", m.GetFromMs(), m.GetToMs()))
		}
		from := m.GetFromMs()
		if from == 0 && m.GetToMs() == 0 {
			from = -1 << 60 // every window
		}
		out.Windowed = true
		out.Attempts, err = s.read(ctx, r, key, m.GetAllowStale(), func(ctx context.Context, c weirv1connect.TableServiceClient, _ router.Replica) error {
			resp, err := c.GetWindows(ctx, connect.NewRequest(&weirv1.TableWindowsRequest{App: r.App, Table: r.Table, Key: tk,
				FromMs: from, ToMs: m.GetToMs(), AllowStale: m.GetAllowStale()}))
			if err == nil {
				out.Windows, out.Read, out.Found = resp.Msg.GetWindows(), resp.Msg.GetRead(), len(resp.Msg.GetWindows()) > 0
			}
			return err
		})
	default:
		out.Attempts, err = s.read(ctx, r, key, m.GetAllowStale(), func(ctx context.Context, c weirv1connect.TableServiceClient, _ router.Replica) error {
			resp, err := c.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: r.App, Table: r.Table, Key: tk, AllowStale: m.GetAllowStale()}))
			if err == nil {
				out.Found, out.Value, out.Raw, out.Read = resp.Msg.GetFound(), resp.Msg.GetValue(), resp.Msg.GetRaw(), resp.Msg.GetRead()
			}
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// read routes one key's read: to any worker for a global table, else to the key's owner.
func (s *Service) read(ctx context.Context, r cluster.TableRoute, key []byte, allowStale bool, call router.Call) (int32, error) {
	if r.Global {
		n, err := s.cfg.Router.ReadAny(ctx, fmt.Sprintf("global table %s.%s", r.App, r.Table), call)
		return int32(n), err
	}
	t := cluster.TaskKey{App: r.App, Group: r.Group, Partition: r.Partition(key)}
	n, err := s.cfg.Router.Read(ctx, t, allowStale, call)
	return int32(n), err
}

// ScanTable reads a page of keys with a prefix from every partition and merges them in key
// order; the cursor is the last key returned.
func (s *Service) ScanTable(ctx context.Context, req *connect.Request[weirv1.ScanTableRequest]) (*connect.Response[weirv1.ScanTableResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	m := req.Msg
	r, err := s.route(ctx, m.GetApp(), m.GetTable())
	if err != nil {
		return nil, err
	}
	limit := int(m.GetLimit())
	switch {
	case limit < 0 || limit > MaxLimit:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("limit %d: want 0 (default %d) to %d", limit, DefaultLimit, MaxLimit))
	case limit == 0:
		limit = DefaultLimit
	}
	if _, err := base64.RawURLEncoding.DecodeString(m.GetCursor()); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("cursor %q is not one this service returned", m.GetCursor()))
	}
	scan := func(p int) (*weirv1.TableScanResponse, error) {
		var out *weirv1.TableScanResponse
		call := func(ctx context.Context, c weirv1connect.TableServiceClient, _ router.Replica) error {
			resp, err := c.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{App: r.App, Table: r.Table, Partition: int32(p),
				Prefix: m.GetPrefix(), Limit: int32(limit), Cursor: m.GetCursor(), AllowStale: m.GetAllowStale()}))
			if err == nil {
				out = resp.Msg
			}
			return err
		}
		if r.Global {
			_, err := s.cfg.Router.ReadAny(ctx, fmt.Sprintf("global table %s.%s", r.App, r.Table), call)
			return out, err
		}
		_, err := s.cfg.Router.Read(ctx, cluster.TaskKey{App: r.App, Group: r.Group, Partition: p}, m.GetAllowStale(), call)
		return out, err
	}
	parts := r.Partitions
	if r.Global {
		parts = 1
	}
	pages := make([]*weirv1.TableScanResponse, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for p := range parts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pages[p], errs[p] = scan(p)
		})
	}
	wg.Wait()
	var all []*weirv1.TableEntry
	more := false
	for p := range parts {
		if errs[p] != nil {
			return nil, errs[p]
		}
		all = append(all, pages[p].GetEntries()...)
		more = more || pages[p].GetNextCursor() != ""
	}
	slices.SortStableFunc(all, func(a, b *weirv1.TableEntry) int { return bytes.Compare(a.SortKey, b.SortKey) })
	out := &weirv1.ScanTableResponse{}
	if len(all) > limit {
		all, more = all[:limit], true
	}
	out.Entries = all
	if more && len(all) > 0 {
		out.NextCursor = base64.RawURLEncoding.EncodeToString(all[len(all)-1].SortKey)
	}
	return connect.NewResponse(out), nil
}
