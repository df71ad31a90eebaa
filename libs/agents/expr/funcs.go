package expr

import (
	"math"
	"strings"
	"unicode/utf8"
)

// nativeFuncs are the functions compiled code runs without cty, for the argument types
// listed with each; other arguments go to the cty implementation.
var nativeFuncs = map[string]nativeFunc{
	"lower":      str1(strings.ToLower),
	"upper":      str1(strings.ToUpper),
	"trimspace":  str1(strings.TrimSpace),
	"strlen":     fnStrlen,
	"trimprefix": str2(strings.TrimPrefix),
	"trimsuffix": str2(strings.TrimSuffix),
	"split":      fnSplit,
	"join":       fnJoin,
	"replace":    fnReplace,
	"substr":     fnSubstr,
	"length":     fnLength,
	"contains":   fnContains,
	"concat":     fnConcat,
	"coalesce":   fnCoalesce,
	"tostring":   fnToString,
	"tonumber":   fnToNumber,
	"format":     fnFormat,
	"jsonencode": fnJSONEncode,
	"jsondecode": fnJSONDecode,
	"min":        numFold(math.Min),
	"max":        numFold(math.Max),
	"abs":        num1(math.Abs),
	"floor":      num1(math.Floor),
	"ceil":       num1(math.Ceil),
}

func str1(f func(string) string) nativeFunc {
	return func(args []any) (any, bool, error) {
		if len(args) == 1 {
			if s, ok := args[0].(string); ok && isASCII(s) {
				return f(s), true, nil
			}
		}
		return nil, false, nil
	}
}

func str2(f func(a, b string) string) nativeFunc {
	return func(args []any) (any, bool, error) {
		if len(args) == 2 {
			a, aok := args[0].(string)
			b, bok := args[1].(string)
			if aok && bok {
				return f(a, b), true, nil
			}
		}
		return nil, false, nil
	}
}

func num1(f func(float64) float64) nativeFunc {
	return func(args []any) (any, bool, error) {
		if len(args) == 1 {
			if x, ok := args[0].(float64); ok && !math.IsInf(x, 0) {
				return f(x), true, nil
			}
		}
		return nil, false, nil
	}
}

func numFold(f func(a, b float64) float64) nativeFunc {
	return func(args []any) (any, bool, error) {
		if len(args) == 0 {
			return nil, false, nil
		}
		acc, ok := args[0].(float64)
		if !ok {
			return nil, false, nil
		}
		for _, a := range args[1:] {
			x, ok := a.(float64)
			if !ok {
				return nil, false, nil
			}
			acc = f(acc, x)
		}
		return acc, true, nil
	}
}

// isASCII reports whether s is ASCII: where case mapping, trimming and grapheme counting
// agree between Go's strings package, cty's Unicode normalisation and text segmentation.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func fnStrlen(args []any) (any, bool, error) {
	if len(args) == 1 {
		if s, ok := args[0].(string); ok && isASCII(s) && !strings.Contains(s, "\r\n") {
			return float64(len(s)), true, nil
		}
	}
	return nil, false, nil
}

func fnSplit(args []any) (any, bool, error) {
	if len(args) == 2 {
		sep, sok := args[0].(string)
		s, ok := args[1].(string)
		if sok && ok {
			parts := strings.Split(s, sep)
			out := make(List, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, true, nil
		}
	}
	return nil, false, nil
}

// seq returns a tuple's or list's elements.
func seq(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case List:
		return v, true
	}
	return nil, false
}

func fnJoin(args []any) (any, bool, error) {
	if len(args) < 2 {
		return nil, false, nil
	}
	sep, ok := args[0].(string)
	if !ok {
		return nil, false, nil
	}
	var b strings.Builder
	n := 0
	for _, a := range args[1:] {
		elems, ok := seq(a)
		if !ok {
			return nil, false, nil
		}
		for _, e := range elems {
			s, ok := e.(string)
			if !ok {
				return nil, false, nil
			}
			if n > 0 {
				b.WriteString(sep)
			}
			b.WriteString(s)
			n++
		}
	}
	return b.String(), true, nil
}

func fnReplace(args []any) (any, bool, error) {
	if len(args) == 3 {
		s, ok1 := args[0].(string)
		old, ok2 := args[1].(string)
		repl, ok3 := args[2].(string)
		if ok1 && ok2 && ok3 && old != "" {
			return strings.ReplaceAll(s, old, repl), true, nil
		}
	}
	return nil, false, nil
}

func fnSubstr(args []any) (any, bool, error) {
	if len(args) != 3 {
		return nil, false, nil
	}
	s, ok1 := args[0].(string)
	off, ok2 := args[1].(float64)
	n, ok3 := args[2].(float64)
	if !ok1 || !ok2 || !ok3 || !isASCII(s) || strings.Contains(s, "\r\n") || off != math.Trunc(off) || n != math.Trunc(n) || off < 0 || n < -1 || off > 1<<30 || n > 1<<30 {
		return nil, false, nil
	}
	o, l := int(off), int(n)
	if o >= len(s) || l == 0 {
		return "", true, nil
	}
	s = s[o:]
	if l >= 0 && l < len(s) {
		s = s[:l]
	}
	return s, true, nil
}

func fnLength(args []any) (any, bool, error) {
	if len(args) != 1 {
		return nil, false, nil
	}
	switch v := args[0].(type) {
	case []any:
		return float64(len(v)), true, nil
	case List:
		return float64(len(v)), true, nil
	}
	return nil, false, nil
}

func fnContains(args []any) (any, bool, error) {
	if len(args) != 2 || args[1] == nil {
		return nil, false, nil
	}
	elems, ok := seq(args[0])
	if !ok {
		return nil, false, nil
	}
	for _, e := range elems {
		eq, ok := scalarEqual(e, args[1])
		if !ok || e == nil {
			return nil, false, nil
		}
		if eq {
			return true, true, nil
		}
	}
	return false, true, nil
}

func fnConcat(args []any) (any, bool, error) {
	var out []any
	for _, a := range args {
		t, ok := a.([]any)
		if !ok {
			return nil, false, nil
		}
		out = append(out, t...)
	}
	if out == nil {
		return nil, false, nil
	}
	return out, true, nil
}

func fnCoalesce(args []any) (any, bool, error) {
	var first any
	for _, a := range args {
		if a == nil {
			continue
		}
		if first == nil {
			first = a
			continue
		}
		if !sameKind(first, result{v: a}) {
			return nil, false, nil
		}
	}
	if first == nil {
		return nil, false, nil
	}
	if _, ok := scalarString(first); !ok {
		return nil, false, nil
	}
	return first, true, nil
}

func fnToString(args []any) (any, bool, error) {
	if len(args) == 1 {
		if s, ok := scalarString(args[0]); ok {
			return s, true, nil
		}
	}
	return nil, false, nil
}

func fnToNumber(args []any) (any, bool, error) {
	if len(args) == 1 {
		switch v := args[0].(type) {
		case float64:
			return v, true, nil
		}
	}
	return nil, false, nil
}

// fnFormat handles format strings with %s of strings, %d of integers and %%.
func fnFormat(args []any) (any, bool, error) {
	if len(args) == 0 {
		return nil, false, nil
	}
	f, ok := args[0].(string)
	if !ok {
		return nil, false, nil
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return nil, false, nil
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 's':
			if next >= len(args) {
				return nil, false, nil
			}
			s, ok := args[next].(string)
			if !ok {
				return nil, false, nil
			}
			b.WriteString(s)
			next++
		case 'd':
			if next >= len(args) {
				return nil, false, nil
			}
			x, ok := args[next].(float64)
			if !ok || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, false, nil
			}
			b.WriteString(formatNumber(x))
			next++
		default:
			return nil, false, nil
		}
	}
	if next != len(args) {
		return nil, false, nil
	}
	return b.String(), true, nil
}
