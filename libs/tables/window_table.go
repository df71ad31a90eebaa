package tables

import (
	"bytes"
	"errors"
	"fmt"
)

// WindowedTable is a table holding one value per (key, window); see Windows for how it is
// driven and window_keys.go for its layout.
type WindowedTable struct {
	ws   *Windows
	name string
	spec WindowSpec
	tb   Table
}

// WindowValue is one window of a key and its aggregate.
type WindowValue struct {
	Window
	Value []byte
}

// UpdateFunc computes a window's new aggregate from its current one (exists is false for a
// new window). It must not keep or modify old.
type UpdateFunc func(old []byte, exists bool) ([]byte, error)

// UpdateResult says what an Update did.
type UpdateResult struct {
	// Updated are the windows written, by ascending start, with their new aggregates.
	Updated []WindowValue
	// Late counts the record's windows that were already closed and so were not updated;
	// the record was dropped when Updated is empty.
	Late int
}

// Name is the table's name.
func (w *WindowedTable) Name() string { return w.name }

// Spec is the table's window spec (validated).
func (w *WindowedTable) Spec() WindowSpec { return w.spec }

// Update folds a record with event time ts (ms) under key into each window it falls into
// that is still open (end + grace > stream time); a session table merges the key's open
// sessions the record bridges (see WindowSpec.Gap and Merge). Windows already closed are
// skipped and counted as late (metrics LateWindows, and LateRecords when all were). ts must
// not be ahead of the stream time: call Windows.Observe(ts) first. If fn fails, nothing is
// written.
func (w *WindowedTable) Update(key []byte, ts int64, fn UpdateFunc) (UpdateResult, error) {
	if fn == nil {
		return UpdateResult{}, fmt.Errorf("updating %s: no update function", w.name)
	}
	if err := checkEventTime(ts); err != nil {
		return UpdateResult{}, fmt.Errorf("updating %s[%q]: %w", w.name, truncate(key), err)
	}
	if st := w.ws.st; st == noStreamTime || ts > st {
		return UpdateResult{}, fmt.Errorf("updating %s[%q]: event time %d is ahead of the stream time: call Windows.Observe for the record first",
			w.name, truncate(key), ts)
	}
	var res UpdateResult
	var err error
	if w.spec.Kind == Session {
		res, err = w.updateSession(key, ts, fn)
	} else {
		res, err = w.updateFixed(key, ts, fn)
	}
	if err != nil {
		return UpdateResult{}, fmt.Errorf("updating %s[%q]: %w", w.name, truncate(key), err)
	}
	if res.Late > 0 {
		w.ws.stats.lateWindows.Add(int64(res.Late))
		if len(res.Updated) == 0 {
			w.ws.stats.late.Add(1)
		}
	}
	return res, nil
}

// closed reports whether a window is closed at the current stream time.
func (w *WindowedTable) closed(win Window) bool { return w.spec.closeAt(win) <= w.ws.st }

func (w *WindowedTable) updateFixed(key []byte, ts int64, fn UpdateFunc) (UpdateResult, error) {
	wins, err := w.spec.WindowsFor(ts)
	if err != nil {
		return UpdateResult{}, err
	}
	var res UpdateResult
	fresh := make([]bool, 0, len(wins))
	for _, win := range wins {
		if w.closed(win) {
			res.Late++
			continue
		}
		agg, ok, err := w.getAgg(EncodeWindowKey(key, win.Start))
		if err != nil {
			return UpdateResult{}, err
		}
		nv, err := fn(agg, ok)
		if err != nil {
			return UpdateResult{}, fmt.Errorf("aggregating into window %d: %w", win.Start, err)
		}
		res.Updated = append(res.Updated, WindowValue{Window: win, Value: nv})
		fresh = append(fresh, !ok)
	}
	for i, wv := range res.Updated {
		if err := w.put(key, wv, fresh[i]); err != nil {
			return UpdateResult{}, err
		}
	}
	return res, nil
}

// put writes a window and, for a new one, its close-index entry.
func (w *WindowedTable) put(key []byte, wv WindowValue, fresh bool) error {
	wk := EncodeWindowKey(key, wv.Start)
	if err := w.tb.Set(wk, encodeWindowValue(wv.End, wv.Value)); err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	at := w.spec.closeAt(wv.Window)
	if err := w.ws.meta.Set(indexKey(closeIndexByte, at, w.name, wk), encodeTime(w.spec.expireAt(wv.Window))); err != nil {
		return err
	}
	w.ws.noteClose(at)
	return nil
}

// getAgg reads a window's aggregate (pending writes included).
func (w *WindowedTable) getAgg(wk []byte) ([]byte, bool, error) {
	v, ok, err := w.tb.Get(wk)
	if err != nil || !ok {
		return nil, false, err
	}
	_, agg, err := DecodeWindowValue(v)
	if err != nil {
		return nil, false, err
	}
	return agg, true, nil
}

// Get returns the window of key starting at start (ms), with pending writes; closed
// windows stay readable until they expire.
func (w *WindowedTable) Get(key []byte, start int64) (WindowValue, bool, error) {
	v, ok, err := w.tb.Get(EncodeWindowKey(key, start))
	if err != nil || !ok {
		return WindowValue{}, false, err
	}
	end, agg, err := DecodeWindowValue(v)
	if err != nil {
		return WindowValue{}, false, fmt.Errorf("reading %s[%q] window %d: %w", w.name, truncate(key), start, err)
	}
	return WindowValue{Window: Window{Start: start, End: end}, Value: agg}, true, nil
}

// Range returns the windows of key whose start is in [from, to], by start.
func (w *WindowedTable) Range(key []byte, from, to int64) ([]WindowValue, error) {
	var out []WindowValue
	err := w.scanKey(key, func(wv WindowValue) bool {
		if wv.Start > to {
			return false
		}
		if wv.Start >= from {
			wv.Value = bytes.Clone(wv.Value)
			out = append(out, wv)
		}
		return true
	})
	return out, err
}

// scanKey calls fn for every window of key, by start; wv.Value is valid during the call only.
func (w *WindowedTable) scanKey(key []byte, fn func(WindowValue) bool) error {
	prefix := WindowKeyPrefix(key)
	var derr error
	err := w.tb.Scan(prefix, func(k, v []byte) bool {
		wv, err := decodeWindow(k, v)
		if err != nil {
			derr = err
			return false
		}
		return fn(wv)
	})
	if err = errors.Join(err, derr); err != nil {
		return fmt.Errorf("scanning %s[%q]: %w", w.name, truncate(key), err)
	}
	return nil
}

// Scan calls fn for every window of every key, in key then start order, with pending
// writes, until fn returns false. key and wv.Value are valid during the call only; fn must
// not use the task.
func (w *WindowedTable) Scan(fn func(key []byte, wv WindowValue) bool) error {
	var derr error
	err := w.tb.Scan(nil, func(k, v []byte) bool {
		key, start, err := DecodeWindowKey(k)
		if err != nil {
			derr = err
			return false
		}
		end, agg, err := DecodeWindowValue(v)
		if err != nil {
			derr = err
			return false
		}
		return fn(key, WindowValue{Window: Window{Start: start, End: end}, Value: agg})
	})
	if err = errors.Join(err, derr); err != nil {
		return fmt.Errorf("scanning %s: %w", w.name, err)
	}
	return nil
}

// decodeWindow decodes a window key's start and a stored value (the user key is not needed).
func decodeWindow(k, v []byte) (WindowValue, error) {
	_, start, err := DecodeWindowKey(k)
	if err != nil {
		return WindowValue{}, err
	}
	end, agg, err := DecodeWindowValue(v)
	if err != nil {
		return WindowValue{}, err
	}
	return WindowValue{Window: Window{Start: start, End: end}, Value: agg}, nil
}
