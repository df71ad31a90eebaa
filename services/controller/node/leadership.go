package node

import (
	"encoding/json"
	"sync"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/leader"
)

// leadership is what this controller knows about the election: its own term, if it leads,
// and the current leader's id and address as seen in etcd. Safe for concurrent use.
type leadership struct {
	self       string
	mu         sync.Mutex
	term       *leader.Term
	leaderID   string
	leaderAddr string
	known      bool // the controllers prefix has been read at least once
}

// Guard returns the guard of a live term.
func (l *leadership) Guard() (cluster.Guard, bool) {
	l.mu.Lock()
	t := l.term
	l.mu.Unlock()
	if t == nil {
		return cluster.Guard{}, false
	}
	select {
	case <-t.Done():
		return cluster.Guard{}, false
	default:
		return t.Guard(), true
	}
}

// Leader returns the leader as last seen in etcd.
func (l *leadership) Leader() (string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leaderID, l.leaderAddr
}

func (l *leadership) setTerm(t *leader.Term) {
	l.mu.Lock()
	l.term = t
	l.mu.Unlock()
}

// ready reports whether a leader is known and, if it is this controller, whether its term
// has been taken up (so that writes are accepted).
func (l *leadership) ready() bool {
	l.mu.Lock()
	known, id := l.known, l.leaderID
	l.mu.Unlock()
	if !known || id == "" {
		return false
	}
	if id == l.self {
		_, ok := l.Guard()
		return ok
	}
	return true
}

// view tracks the keys under the controllers prefix: the registry and the election.
type view struct {
	layout cluster.Layout
	keys   map[string]cluster.KeyValue
}

// apply folds a Follow batch in and returns the leader's id and address.
func (v *view) apply(b cluster.Batch) (id, addr string) {
	if b.Reset || v.keys == nil {
		v.keys = map[string]cluster.KeyValue{}
	}
	for _, kv := range b.Changes {
		if kv.Deleted {
			delete(v.keys, kv.Key)
		} else {
			v.keys[kv.Key] = kv
		}
	}
	election := v.layout.Election() + "/"
	var first *cluster.KeyValue
	for k, kv := range v.keys {
		if len(k) > len(election) && k[:len(election)] == election {
			if first == nil || kv.CreateRevision < first.CreateRevision {
				first = &kv
			}
		}
	}
	if first == nil {
		return "", ""
	}
	id = string(first.Value)
	if reg, ok := v.keys[v.layout.ControllerKey(id)]; ok {
		var rec cluster.ControllerRecord
		if json.Unmarshal(reg.Value, &rec) == nil {
			addr = rec.Addr
		}
	}
	return id, addr
}
