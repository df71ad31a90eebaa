package tables

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// Options configures a Store. Memory is bounded by CacheBytes plus about two memtables,
// however many partitions the worker holds.
type Options struct {
	// CacheBytes is Pebble's block cache (64 MiB when zero).
	CacheBytes int64
	// MemtableBytes is one memtable (16 MiB when zero); at most two are kept before writes
	// stall on a flush.
	MemtableBytes int64
	Logger        *slog.Logger
}

func (o *Options) withDefaults() {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.MemtableBytes <= 0 {
		o.MemtableBytes = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Store is one worker's Pebble database, holding the tables of every partition the worker
// is active or standby for (see keys.go for the layout). It is safe for concurrent use; each
// partition must have one writer (a Task or a Standby) at a time.
type Store struct {
	db  *pebble.DB
	log *slog.Logger
}

// Open opens (or creates) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("opening store: empty directory")
	}
	opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref()
	log := opts.Logger.With("component", "tables")
	db, err := pebble.Open(dir, &pebble.Options{
		Cache:                       cache,
		MemTableSize:                uint64(opts.MemtableBytes),
		MemTableStopWritesThreshold: 2,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{log.With("component", "pebble")},
	})
	if err != nil {
		return nil, fmt.Errorf("opening store in %s: %w", dir, err)
	}
	return &Store{db: db, log: log}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// DropPartition deletes all local state of a changelog partition (its tables and its
// metadata) with one range delete, e.g. once its task was handed off.
func (s *Store) DropPartition(topic string, partition int32) error {
	if err := errors.Join(validTopic(topic), validPartition(partition)); err != nil {
		return fmt.Errorf("dropping partition: %w", err)
	}
	prefix := partitionPrefix(topic, partition)
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(prefix, successor(prefix), nil); err != nil {
		return fmt.Errorf("dropping %s/%d: %w", topic, partition, err)
	}
	if err := b.Delete(metaKey(topic, partition), nil); err != nil {
		return fmt.Errorf("dropping %s/%d: %w", topic, partition, err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("dropping %s/%d: %w", topic, partition, err)
	}
	return nil
}

// State returns the stored state of a changelog partition; ok is false when the store holds
// none.
func (s *Store) State(topic string, partition int32) (st PartitionState, ok bool, err error) {
	if err := errors.Join(validTopic(topic), validPartition(partition)); err != nil {
		return PartitionState{}, false, fmt.Errorf("reading partition state: %w", err)
	}
	v, found, err := s.get(metaKey(topic, partition))
	if err != nil || !found {
		return emptyState(), false, err
	}
	st, err = decodeMeta(v)
	if err != nil {
		return PartitionState{}, false, fmt.Errorf("reading state of %s/%d: %w", topic, partition, err)
	}
	return st, true, nil
}

// Get reads the committed value of a key (what the changelog holds; not a task's pending
// writes). It is meant for queries from outside the task.
func (s *Store) Get(topic string, partition int32, table string, key []byte) ([]byte, bool, error) {
	if err := errors.Join(validTopic(topic), validPartition(partition), ValidTableName(table)); err != nil {
		return nil, false, fmt.Errorf("reading table: %w", err)
	}
	return s.get(dataKey(partitionPrefix(topic, partition), changelogKey(table, key)))
}

// Scan calls fn for each committed key of a table with the given prefix, in key order, until
// fn returns false. key and value are valid only during the call.
func (s *Store) Scan(topic string, partition int32, table string, prefix []byte, fn func(key, value []byte) bool) error {
	if err := errors.Join(validTopic(topic), validPartition(partition), ValidTableName(table)); err != nil {
		return fmt.Errorf("scanning table: %w", err)
	}
	base := dataKey(partitionPrefix(topic, partition), changelogKey(table, nil))
	return s.scan(base, prefix, fn)
}

// get returns a copy of the value stored under k.
func (s *Store) get(k []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading key %q: %w", k, err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("reading key %q: %w", k, err)
	}
	return out, true, nil
}

// scan calls fn with every key under base+prefix, stripped of base.
func (s *Store) scan(base, prefix []byte, fn func(key, value []byte) bool) error {
	lower := append(bytes.Clone(base), prefix...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: successor(lower)})
	if err != nil {
		return fmt.Errorf("scanning %q: %w", lower, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(it.Key()[len(base):], it.Value()) {
			break
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("scanning %q: %w", lower, err)
	}
	return nil
}

// pebbleLogger routes Pebble's logging to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any)  { l.log.Info(fmt.Sprintf(format, args...)) }
func (l pebbleLogger) Errorf(format string, args ...any) { l.log.Error(fmt.Sprintf(format, args...)) }

// Fatalf is called by Pebble on an invariant violation it cannot continue from.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble fatal error", "msg", msg)
	panic("pebble: " + msg)
}
