package topics

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Cleanup policies of a topic.
const (
	CleanupDelete        = "delete"
	CleanupCompact       = "compact"
	CleanupCompactDelete = "compact,delete"
)

// TopicSpec declares a topic as Weir wants it to exist.
type TopicSpec struct {
	Name        string
	Partitions  int
	Replication int    // 0 means the broker's default
	Cleanup     string // CleanupDelete (default), CleanupCompact or CleanupCompactDelete
	// Retention is retention.ms: 0 keeps the broker default, a negative value keeps forever.
	Retention time.Duration
	// MinCompactionLag is min.compaction.lag.ms (compacted topics); 0 keeps the default.
	MinCompactionLag time.Duration
	// MaxMessageBytes is max.message.bytes, the largest record batch the topic accepts; 0 keeps
	// the default.
	MaxMessageBytes int
	// Configs holds any other topic configs by their Kafka names. A key here that one of the
	// typed fields also sets is an error.
	Configs map[string]string
}

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// Validate reports every problem of the spec at once.
func (s TopicSpec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("topic %q: "+format, append([]any{s.Name}, args...)...))
	}
	switch {
	case s.Name == "":
		errs = append(errs, errors.New("topic: name is empty"))
	case len(s.Name) > 249:
		bad("name is longer than Kafka's limit of 249 characters")
	case s.Name == "." || s.Name == "..":
		bad("name may not be %q", s.Name)
	case !topicNameRE.MatchString(s.Name):
		bad("name may contain only letters, digits, '.', '_' and '-'")
	}
	if s.Partitions < 1 {
		bad("partitions must be at least 1, got %d", s.Partitions)
	}
	if s.Replication < 0 {
		bad("replication must be at least 1 (or 0 for the broker default), got %d", s.Replication)
	}
	switch s.Cleanup {
	case "", CleanupDelete, CleanupCompact, CleanupCompactDelete:
	default:
		bad("cleanup policy %q is not one of delete, compact, compact,delete", s.Cleanup)
	}
	if s.MinCompactionLag < 0 {
		bad("min compaction lag may not be negative")
	}
	if s.MaxMessageBytes < 0 {
		bad("max message bytes may not be negative")
	}
	typed := s.typedConfigs()
	for _, k := range slices.Sorted(maps.Keys(s.Configs)) {
		if _, dup := typed[k]; dup {
			bad("config %q is set twice (by a field and in Configs)", k)
		}
	}
	return errors.Join(errs...)
}

func (s TopicSpec) typedConfigs() map[string]string {
	c := map[string]string{}
	if s.Cleanup != "" {
		c["cleanup.policy"] = s.Cleanup
	}
	switch {
	case s.Retention < 0:
		c["retention.ms"] = "-1"
	case s.Retention > 0:
		c["retention.ms"] = strconv.FormatInt(s.Retention.Milliseconds(), 10)
	}
	if s.MinCompactionLag > 0 {
		c["min.compaction.lag.ms"] = strconv.FormatInt(s.MinCompactionLag.Milliseconds(), 10)
	}
	if s.MaxMessageBytes > 0 {
		c["max.message.bytes"] = strconv.Itoa(s.MaxMessageBytes)
	}
	return c
}

// ConfigEntries is every topic config the spec sets, by Kafka name.
func (s TopicSpec) ConfigEntries() map[string]string {
	c := s.typedConfigs()
	maps.Copy(c, s.Configs)
	return c
}
