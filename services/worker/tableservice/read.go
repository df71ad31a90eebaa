package tableservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
)

// Page sizes of Scan.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// tableHandler implements weir.v1.TableService.
type tableHandler struct{ s *Service }

var _ weirv1connect.TableServiceHandler = tableHandler{}

func (h tableHandler) Get(ctx context.Context, req *connect.Request[weirv1.TableGetRequest]) (*connect.Response[weirv1.TableGetResponse], error) {
	m := req.Msg
	r, err := h.s.route(m.GetApp(), m.GetTable())
	if err != nil {
		return nil, err
	}
	if r.Window != nil {
		return nil, invalid(fmt.Errorf("table %s.%s is windowed (%s): read it with GetWindows", r.App, r.Table, r.Window))
	}
	key, err := EncodeKey(m.GetKey(), r)
	if err != nil {
		return nil, err
	}
	var (
		v     []byte
		found bool
		info  *weirv1.ReadInfo
	)
	if r.Global {
		g, err := h.s.global(r)
		if err != nil {
			return nil, err
		}
		info = &weirv1.ReadInfo{Worker: h.s.cfg.Worker, Role: "global", Lag: g.Lag(), Partition: -1}
		if v, found, err = g.Get(key); err != nil {
			return nil, internal(err)
		}
	} else {
		p := r.Partition(key)
		if info, err = h.s.authorize(ctx, r, p, m.GetAllowStale()); err != nil {
			return nil, err
		}
		if v, found, err = h.s.cfg.Store.Get(r.Changelog, int32(p), r.Table, key); err != nil {
			return nil, internal(err)
		}
	}
	resp := &weirv1.TableGetResponse{Found: found, Read: info}
	if found {
		resp.Value, resp.Raw = DecodeValue(v)
	}
	return connect.NewResponse(resp), nil
}

func (h tableHandler) GetWindows(ctx context.Context, req *connect.Request[weirv1.TableWindowsRequest]) (*connect.Response[weirv1.TableWindowsResponse], error) {
	m := req.Msg
	r, err := h.s.route(m.GetApp(), m.GetTable())
	if err != nil {
		return nil, err
	}
	if r.Window == nil {
		return nil, invalid(fmt.Errorf("table %s.%s is not windowed: read it with Get", r.App, r.Table))
	}
	from, to := m.GetFromMs(), m.GetToMs()
	if to == 0 {
		to = math.MaxInt64
	}
	if from > to {
		return nil, invalid(fmt.Errorf("from_ms %d is after to_ms %d", from, to))
	}
	key, err := EncodeKey(m.GetKey(), r)
	if err != nil {
		return nil, err
	}
	p := r.Partition(key)
	info, err := h.s.authorize(ctx, r, p, m.GetAllowStale())
	if err != nil {
		return nil, err
	}
	ws, err := h.s.cfg.Store.WindowRange(r.Changelog, int32(p), r.Table, key, from, to)
	if err != nil {
		return nil, internal(err)
	}
	resp := &weirv1.TableWindowsResponse{Read: info}
	for _, w := range ws {
		out := &weirv1.WindowValue{StartMs: w.Start, EndMs: w.End}
		out.Value, out.Raw = DecodeValue(w.Value)
		resp.Windows = append(resp.Windows, out)
	}
	st, ok, err := h.s.cfg.Store.StreamTime(r.Changelog, int32(p))
	if err != nil {
		return nil, internal(err)
	}
	resp.StreamTimeMs, resp.HasStreamTime = st, ok
	return connect.NewResponse(resp), nil
}

func (h tableHandler) Scan(ctx context.Context, req *connect.Request[weirv1.TableScanRequest]) (*connect.Response[weirv1.TableScanResponse], error) {
	m := req.Msg
	r, err := h.s.route(m.GetApp(), m.GetTable())
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(m.GetLimit())
	if err != nil {
		return nil, err
	}
	prefix := []byte(m.GetPrefix())
	if bytes.IndexByte(prefix, 0) >= 0 {
		return nil, invalid(errors.New("the prefix may not contain byte 0x00"))
	}
	after, err := DecodeCursor(m.GetCursor())
	if err != nil {
		return nil, err
	}
	pg := page{route: r, limit: limit, after: after}
	var info *weirv1.ReadInfo
	if r.Global {
		g, err := h.s.global(r)
		if err != nil {
			return nil, err
		}
		info = &weirv1.ReadInfo{Worker: h.s.cfg.Worker, Role: "global", Lag: g.Lag(), Partition: -1}
		pg.partition = -1
		err = g.Scan(prefix, pg.add)
		if err = errors.Join(err, pg.err); err != nil {
			return nil, internal(err)
		}
	} else {
		p := int(m.GetPartition())
		if info, err = h.s.authorize(ctx, r, p, m.GetAllowStale()); err != nil {
			return nil, err
		}
		pg.partition = int32(p)
		err = h.s.cfg.Store.Scan(r.Changelog, int32(p), r.Table, prefix, pg.add)
		if err = errors.Join(err, pg.err); err != nil {
			return nil, internal(err)
		}
	}
	resp := &weirv1.TableScanResponse{Entries: pg.entries, Read: info}
	if pg.more {
		resp.NextCursor = EncodeCursor(pg.entries[len(pg.entries)-1].SortKey)
	}
	return connect.NewResponse(resp), nil
}

func pageLimit(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid(fmt.Errorf("limit %d is negative", n))
	case n == 0:
		return DefaultLimit, nil
	case n > MaxLimit:
		return 0, invalid(fmt.Errorf("limit %d is above the maximum of %d", n, MaxLimit))
	}
	return int(n), nil
}

// page collects one page of a scan: entries after a cursor, skipping Weir's own keys.
type page struct {
	route     cluster.TableRoute
	partition int32
	limit     int
	after     []byte
	entries   []*weirv1.TableEntry
	more      bool
	err       error
}

// add is the scan callback; it returns false once the page is full.
func (pg *page) add(k, v []byte) bool {
	if len(k) == 0 || k[0] == 0 || (pg.after != nil && bytes.Compare(k, pg.after) <= 0) {
		return true
	}
	if len(pg.entries) == pg.limit {
		pg.more = true
		return false
	}
	e := &weirv1.TableEntry{SortKey: bytes.Clone(k), Partition: pg.partition}
	key, value := k, v
	if pg.route.Window != nil {
		uk, start, err := tables.DecodeWindowKey(k)
		if err != nil {
			pg.err = fmt.Errorf("decoding a window key of %s.%s: %w", pg.route.App, pg.route.Table, err)
			return false
		}
		end, agg, err := tables.DecodeWindowValue(v)
		if err != nil {
			pg.err = fmt.Errorf("decoding a window of %s.%s: %w", pg.route.App, pg.route.Table, err)
			return false
		}
		key, value = uk, agg
		e.Windowed, e.WindowStartMs, e.WindowEndMs = true, start, end
	}
	e.Key = DecodeKey(key, pg.route.KeyType)
	e.Value, e.Raw = DecodeValue(value)
	pg.entries = append(pg.entries, e)
	return true
}

func internal(err error) error { return connect.NewError(connect.CodeInternal, err) }
