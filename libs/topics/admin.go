package topics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// Admin manages topics and group offsets.
type Admin struct {
	cfg    ClientConfig
	client *kafka.Client
	meta   *metadata
}

// NewAdmin returns an Admin for the cluster; it connects lazily.
func NewAdmin(cfg ClientConfig) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("creating Kafka admin: %w", err)
	}
	t := cfg.transport()
	return &Admin{cfg: cfg, client: &kafka.Client{Addr: cfg.addr(), Transport: t, Timeout: 30 * time.Second}, meta: &metadata{transport: t}}, nil
}

// TopicInfo is what the cluster says about an existing topic.
type TopicInfo struct {
	Name       string
	Partitions int
	// Configs holds the topic's non-default configs.
	Configs map[string]string
}

// PartitionMismatchError says an existing topic has another partition count than declared.
type PartitionMismatchError struct {
	Topic          string
	Have, Declared int
}

func (e *PartitionMismatchError) Error() string {
	return fmt.Sprintf("topic %q exists with %d partitions but is declared with %d: Weir never changes the partition count of an existing topic, since that would move keys between partitions and strand their state (delete the topic or declare %d)",
		e.Topic, e.Have, e.Declared, e.Have)
}

// EnsureResult says what EnsureTopics did for one topic.
type EnsureResult struct {
	Topic          string
	Created        bool
	ConfigsChanged []string // config names set on an existing topic
}

// EnsureTopics makes each declared topic exist as specified: missing topics are created (and
// waited for until every partition has a leader); existing topics get the declared configs
// that differ; an existing topic with another partition count is an error
// (*PartitionMismatchError) and is left untouched. Problems of all topics are reported together.
func (a *Admin) EnsureTopics(ctx context.Context, specs ...TopicSpec) ([]EnsureResult, error) {
	var errs []error
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ensuring topics: %w", err)
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	existing, err := a.partitionCounts(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("ensuring topics: %w", err)
	}
	results := make([]EnsureResult, len(specs))
	var create []kafka.TopicConfig
	for i, s := range specs {
		results[i].Topic = s.Name
		if n, ok := existing[s.Name]; ok {
			if n != s.Partitions {
				errs = append(errs, &PartitionMismatchError{Topic: s.Name, Have: n, Declared: s.Partitions})
			}
			continue
		}
		results[i].Created = true
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: -1}
		if s.Replication > 0 {
			tc.ReplicationFactor = s.Replication
		}
		entries := s.ConfigEntries()
		for _, k := range slices.Sorted(maps.Keys(entries)) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: entries[k]})
		}
		create = append(create, tc)
	}
	if len(create) > 0 {
		res, err := a.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			return nil, fmt.Errorf("creating topics: %w", err)
		}
		for _, tc := range create {
			if err := res.Errors[tc.Topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
				errs = append(errs, fmt.Errorf("creating topic %q: %w", tc.Topic, err))
			}
		}
	}
	// Existing topics: bring declared configs in line.
	for i, s := range specs {
		if results[i].Created {
			continue
		}
		if n, ok := existing[s.Name]; ok && n != s.Partitions {
			continue
		}
		changed, err := a.alignConfigs(ctx, s)
		if err != nil {
			errs = append(errs, err)
		}
		results[i].ConfigsChanged = changed
	}
	if len(create) > 0 {
		if err := a.waitForLeaders(ctx, create); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return results, fmt.Errorf("ensuring topics: %w", err)
	}
	return results, nil
}

// partitionCounts returns the partition count of each named topic that exists. The client
// answers from its cached metadata: when a topic is missing there (another process may have
// just created it), the cache is refreshed and read once more.
func (a *Admin) partitionCounts(ctx context.Context, names []string) (map[string]int, error) {
	at := time.Now()
	out, missing, err := a.cachedPartitionCounts(ctx, names)
	if err != nil || !missing {
		return out, err
	}
	a.meta.refresh(ctx, at)
	out, _, err = a.cachedPartitionCounts(ctx, names)
	return out, err
}

// cachedPartitionCounts is partitionCounts from the client's cache as it is; missing says some
// topic is not in it.
func (a *Admin) cachedPartitionCounts(ctx context.Context, names []string) (out map[string]int, missing bool, err error) {
	md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, false, fmt.Errorf("reading topic metadata: %w", err)
	}
	out = map[string]int{}
	for _, t := range md.Topics {
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				missing = true
				continue
			}
			return nil, false, fmt.Errorf("reading metadata of topic %q: %w", t.Name, t.Error)
		}
		out[t.Name] = len(t.Partitions)
	}
	return out, missing, nil
}

func (a *Admin) waitForLeaders(ctx context.Context, created []kafka.TopicConfig) error {
	names := make([]string, len(created))
	want := map[string]int{}
	for i, tc := range created {
		names[i] = tc.Topic
		want[tc.Topic] = tc.NumPartitions
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err == nil && allLed(md, want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for leaders of new topics %v: %w", names, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func allLed(md *kafka.MetadataResponse, want map[string]int) bool {
	seen := 0
	for _, t := range md.Topics {
		n, ok := want[t.Name]
		if !ok {
			continue
		}
		if t.Error != nil || len(t.Partitions) != n {
			return false
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
		seen++
	}
	return seen == len(want)
}

// alignConfigs sets the declared configs that differ on an existing topic.
func (a *Admin) alignConfigs(ctx context.Context, s TopicSpec) ([]string, error) {
	declared := s.ConfigEntries()
	if len(declared) == 0 {
		return nil, nil
	}
	info, err := a.describeConfigs(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	var changes []kafka.IncrementalAlterConfigsRequestConfig
	var names []string
	for _, k := range slices.Sorted(maps.Keys(declared)) {
		if have, ok := info[k]; ok && have == declared[k] {
			continue
		}
		changes = append(changes, kafka.IncrementalAlterConfigsRequestConfig{Name: k, Value: declared[k], ConfigOperation: kafka.ConfigOperationSet})
		names = append(names, k)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	res, err := a.client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: s.Name, Configs: changes}},
	})
	if err != nil {
		return nil, fmt.Errorf("setting configs %v of topic %q: %w", names, s.Name, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("setting configs %v of topic %q: %w", names, s.Name, r.Error)
		}
	}
	return names, nil
}

// describeConfigs returns every config of a topic (defaults included) by name.
func (a *Admin) describeConfigs(ctx context.Context, topic string) (map[string]string, error) {
	res, err := a.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}},
	})
	if err != nil {
		return nil, fmt.Errorf("describing configs of topic %q: %w", topic, err)
	}
	out := map[string]string{}
	for _, r := range res.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("describing configs of topic %q: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
	}
	return out, nil
}

// DescribeTopic returns a topic's partition count and its configs.
func (a *Admin) DescribeTopic(ctx context.Context, topic string) (TopicInfo, error) {
	counts, err := a.partitionCounts(ctx, []string{topic})
	if err != nil {
		return TopicInfo{}, err
	}
	n, ok := counts[topic]
	if !ok {
		return TopicInfo{}, fmt.Errorf("describing topic %q: %w", topic, kafka.UnknownTopicOrPartition)
	}
	cfg, err := a.describeConfigs(ctx, topic)
	if err != nil {
		return TopicInfo{}, err
	}
	return TopicInfo{Name: topic, Partitions: n, Configs: cfg}, nil
}

// DeleteTopics deletes topics; a topic that does not exist is not an error.
func (a *Admin) DeleteTopics(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	res, err := a.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		return fmt.Errorf("deleting topics %v: %w", names, err)
	}
	var errs []error
	for _, n := range names {
		if err := res.Errors[n]; err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("deleting topic %q: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
