package app

import (
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// ranges remembers where each attribute of a block was written, for diagnostics.
type ranges map[string]hcl.Range

// at returns the range of attribute name, or fallback when it was not written.
func (r ranges) at(name string, fallback hcl.Range) *hcl.Range {
	if rng, ok := r[name]; ok {
		return &rng
	}
	return &fallback
}

func (r ranges) has(name string) bool { _, ok := r[name]; return ok }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func sortByName[T any](items []*T, name func(*T) string) {
	slices.SortStableFunc(items, func(a, b *T) int { return strings.Compare(name(a), name(b)) })
}
