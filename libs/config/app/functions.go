package app

import (
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns the functions expressions may call, by name: a documented subset of
// go-cty's stdlib (strings, numbers, collections, JSON, time formatting, conversions).
// The map is shared: do not modify it.
func Functions() map[string]function.Function {
	functionsOnce.Do(func() {
		functions = map[string]function.Function{
			// strings
			"chomp":         stdlib.ChompFunc,
			"format":        stdlib.FormatFunc,
			"formatlist":    stdlib.FormatListFunc,
			"indent":        stdlib.IndentFunc,
			"join":          stdlib.JoinFunc,
			"lower":         stdlib.LowerFunc,
			"regex":         stdlib.RegexFunc,
			"regexall":      stdlib.RegexAllFunc,
			"regex_replace": stdlib.RegexReplaceFunc,
			"replace":       stdlib.ReplaceFunc,
			"split":         stdlib.SplitFunc,
			"strlen":        stdlib.StrlenFunc,
			"strrev":        stdlib.ReverseFunc,
			"substr":        stdlib.SubstrFunc,
			"title":         stdlib.TitleFunc,
			"trim":          stdlib.TrimFunc,
			"trimprefix":    stdlib.TrimPrefixFunc,
			"trimspace":     stdlib.TrimSpaceFunc,
			"trimsuffix":    stdlib.TrimSuffixFunc,
			"upper":         stdlib.UpperFunc,
			// numbers
			"abs":      stdlib.AbsoluteFunc,
			"ceil":     stdlib.CeilFunc,
			"floor":    stdlib.FloorFunc,
			"log":      stdlib.LogFunc,
			"max":      stdlib.MaxFunc,
			"min":      stdlib.MinFunc,
			"parseint": stdlib.ParseIntFunc,
			"pow":      stdlib.PowFunc,
			"signum":   stdlib.SignumFunc,
			"int":      stdlib.IntFunc,
			// collections
			"chunklist": stdlib.ChunklistFunc,
			"coalesce":  stdlib.CoalesceFunc,
			"compact":   stdlib.CompactFunc,
			"concat":    stdlib.ConcatFunc,
			"contains":  stdlib.ContainsFunc,
			"distinct":  stdlib.DistinctFunc,
			"element":   stdlib.ElementFunc,
			"flatten":   stdlib.FlattenFunc,
			"keys":      stdlib.KeysFunc,
			"length":    stdlib.LengthFunc,
			"lookup":    stdlib.LookupFunc,
			"merge":     stdlib.MergeFunc,
			"range":     stdlib.RangeFunc,
			"reverse":   stdlib.ReverseListFunc,
			"slice":     stdlib.SliceFunc,
			"sort":      stdlib.SortFunc,
			"values":    stdlib.ValuesFunc,
			"zipmap":    stdlib.ZipmapFunc,
			// encoding
			"csvdecode":  stdlib.CSVDecodeFunc,
			"jsondecode": stdlib.JSONDecodeFunc,
			"jsonencode": stdlib.JSONEncodeFunc,
			// time
			"formatdate": stdlib.FormatDateFunc,
			"timeadd":    stdlib.TimeAddFunc,
			// conversions
			"tobool":   stdlib.MakeToFunc(cty.Bool),
			"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
			"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
			"tonumber": stdlib.MakeToFunc(cty.Number),
			"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
			"tostring": stdlib.MakeToFunc(cty.String),
		}
	})
	return functions
}

var (
	functionsOnce sync.Once
	functions     map[string]function.Function
)
