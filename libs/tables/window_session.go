package tables

import (
	"bytes"
	"fmt"
)

// updateSession folds a record at ts into the key's session: the record's own window is
// [ts, ts+Gap); every open session of the key it overlaps is merged into it (aggregates
// combined with Merge in start order), then fn applies the record. A closed session is never
// reopened (its final value was emitted): a record next to it starts a new session.
func (w *WindowedTable) updateSession(key []byte, ts int64, fn UpdateFunc) (UpdateResult, error) {
	own := Window{Start: ts, End: ts + w.spec.Gap.Milliseconds()}
	if w.closed(own) {
		return UpdateResult{Late: 1}, nil
	}
	var found []WindowValue
	err := w.scanKey(key, func(s WindowValue) bool {
		if s.Start >= own.End {
			return false
		}
		if s.End > own.Start && !w.closed(s.Window) {
			s.Value = bytes.Clone(s.Value)
			found = append(found, s)
		}
		return true
	})
	if err != nil {
		return UpdateResult{}, err
	}
	merged := own
	var agg []byte
	for i, s := range found {
		merged.Start, merged.End = min(merged.Start, s.Start), max(merged.End, s.End)
		if i == 0 {
			agg = s.Value
			continue
		}
		if agg, err = w.spec.Merge(agg, s.Value); err != nil {
			return UpdateResult{}, fmt.Errorf("merging session %d into %d: %w", s.Start, found[0].Start, err)
		}
	}
	nv, err := fn(agg, len(found) > 0)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("aggregating into session %d: %w", merged.Start, err)
	}
	fresh := true
	for _, s := range found {
		same := s.Window == merged
		if !same {
			if err := w.dropSession(key, s.Window, s.Start != merged.Start); err != nil {
				return UpdateResult{}, err
			}
		}
		fresh = fresh && !same
	}
	wv := WindowValue{Window: merged, Value: nv}
	if err := w.put(key, wv, fresh); err != nil {
		return UpdateResult{}, err
	}
	if len(found) > 1 {
		w.ws.stats.merges.Add(int64(len(found) - 1))
	}
	return UpdateResult{Updated: []WindowValue{wv}}, nil
}

// dropSession removes an open session's close-index entry and, when its key is not reused
// by the merged session, the session itself.
func (w *WindowedTable) dropSession(key []byte, s Window, deleteData bool) error {
	wk := EncodeWindowKey(key, s.Start)
	if err := w.ws.meta.Delete(indexKey(closeIndexByte, w.spec.closeAt(s), w.name, wk)); err != nil {
		return err
	}
	if deleteData {
		return w.tb.Delete(wk)
	}
	return nil
}
