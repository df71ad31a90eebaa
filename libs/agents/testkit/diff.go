package testkit

import (
	"fmt"
	"io"
)

// Diff writes a line diff of want and got: lines only in want start with "-", lines
// only in got with "+", and up to three unchanged lines surround each change. It
// reports whether they differ.
func Diff(w io.Writer, want, got []string) bool {
	ops := diffOps(want, got)
	changed := false
	for _, op := range ops {
		if op.kind != ' ' {
			changed = true
		}
	}
	if !changed {
		return false
	}
	const context = 3
	near := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind == ' ' {
			continue
		}
		for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
			near[j] = true
		}
	}
	skipped := false
	for i, op := range ops {
		if !near[i] {
			skipped = true
			continue
		}
		if skipped {
			fmt.Fprintln(w, "  …")
			skipped = false
		}
		fmt.Fprintf(w, "%c %s\n", op.kind, op.line)
	}
	if skipped {
		fmt.Fprintln(w, "  …")
	}
	return true
}

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// diffOps aligns a and b along a longest common subsequence.
func diffOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
