package remote

import (
	"flag"
	"fmt"
	"os"
	"strings"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// sourceFlags are the flags of commands that send an app's source.
type sourceFlags struct {
	vars     listFlag
	varFiles listFlag
}

func (s *sourceFlags) register(fs *flag.FlagSet) {
	fs.Var(&s.vars, "var", "set a variable: `NAME=VALUE` (repeatable)")
	fs.Var(&s.varFiles, "var-file", "read variables from an HCL `file` (repeatable)")
}

// read reads the app files and var files into an AppSource.
func (s *sourceFlags) read(paths []string) (*weirv1.AppSource, error) {
	src := &weirv1.AppSource{Vars: s.vars}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading app file: %w", err)
		}
		src.Files = append(src.Files, &weirv1.SourceFile{Name: p, Content: string(b)})
	}
	for _, p := range s.varFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading -var-file: %w", err)
		}
		src.VarFiles = append(src.VarFiles, &weirv1.SourceFile{Name: p, Content: string(b)})
	}
	return src, nil
}

// author is who applies: $USER, or "unknown".
func author() string {
	for _, env := range []string{"WEIR_AUTHOR", "USER", "USERNAME"} {
		if u := os.Getenv(env); u != "" {
			return u
		}
	}
	return "unknown"
}
