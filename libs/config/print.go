package config

import (
	"fmt"
	"io"
	"strings"
)

// Print writes the configuration as a config file in the format Load reads, with secrets
// redacted, so `--print-config > weir.hcl` gives a file to start from.
func (s Service) Print(w io.Writer) {
	open := []string{}
	for _, st := range Settings() {
		parts := strings.Split(st.Path, ".")
		blocks, name := parts[:len(parts)-1], parts[len(parts)-1]
		common := 0
		for common < len(open) && common < len(blocks) && open[common] == blocks[common] {
			common++
		}
		for len(open) > common {
			open = open[:len(open)-1]
			fmt.Fprintf(w, "%s}\n", strings.Repeat("  ", len(open)))
		}
		for len(open) < len(blocks) {
			fmt.Fprintf(w, "%s%s {\n", strings.Repeat("  ", len(open)), blocks[len(open)])
			open = append(open, blocks[len(open)])
		}
		v := st.get(&s)
		if st.Secret && v != "" {
			v = "(redacted)"
		}
		fmt.Fprintf(w, "%s%s = %s\n", strings.Repeat("  ", len(open)), name, hclValue(st.Kind, v))
	}
	for len(open) > 0 {
		open = open[:len(open)-1]
		fmt.Fprintf(w, "%s}\n", strings.Repeat("  ", len(open)))
	}
}

func hclValue(kind, v string) string {
	switch kind {
	case "bool":
		return v
	case "list":
		var q []string
		for _, e := range strings.Split(v, ",") {
			if e != "" {
				q = append(q, fmt.Sprintf("%q", e))
			}
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprintf("%q", v)
}
