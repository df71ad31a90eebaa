package config

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Loader builds a Service from the four layers. Register its flags on a FlagSet, parse the
// command line, then call Load.
type Loader struct {
	defaults    Service
	file        string
	printConfig bool
	flags       map[string]*string // set flags only, by setting path
	fs          *flag.FlagSet
}

// NewLoader returns a Loader starting from defaults.
func NewLoader(defaults Service) *Loader {
	return &Loader{defaults: defaults, flags: map[string]*string{}}
}

// RegisterFlags adds --config, --print-config and one flag per setting to fs.
func (l *Loader) RegisterFlags(fs *flag.FlagSet) {
	l.fs = fs
	fs.StringVar(&l.file, "config", "", "configuration file (HCL); env WEIR_CONFIG")
	fs.BoolVar(&l.printConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	for _, s := range Settings() {
		v := new(string)
		l.flags[s.Path] = v
		def := s.get(&l.defaults)
		if s.Secret {
			def = ""
		}
		fs.StringVar(v, s.Flag, def, s.Usage+"; env "+s.Env)
	}
}

// PrintConfig reports whether --print-config was given.
func (l *Loader) PrintConfig() bool { return l.printConfig }

// Load applies defaults < file < environment < flags and validates the result, reporting
// every problem at once. getenv is os.LookupEnv in production and a map in tests.
func (l *Loader) Load(getenv func(string) (string, bool)) (Service, error) {
	cfg := l.defaults
	var errs []error
	file := l.file
	if file == "" {
		file, _ = getenv("WEIR_CONFIG")
	}
	if file != "" {
		if err := decodeFile(file, &cfg); err != nil {
			errs = append(errs, err)
		}
	}
	set := map[string]bool{}
	if l.fs != nil {
		l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	for _, s := range Settings() {
		if v, ok := getenv(s.Env); ok {
			if err := s.set(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", s.Env, err))
			}
		}
		if set[s.Flag] {
			if err := s.set(&cfg, *l.flags[s.Path]); err != nil {
				errs = append(errs, fmt.Errorf("flag --%s: %w", s.Flag, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// decodeFile reads an HCL configuration file over cfg. The file uses the settings' paths:
// top-level attributes (listen, data_dir) and blocks for the dotted prefixes (log, kafka,
// kafka.tls, kafka.sasl, etcd, etcd.tls). Anything else is an error with its position.
func decodeFile(path string, cfg *Service) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return diagErrors(diags)
	}
	byPath := map[string]Setting{}
	blocks := map[string]bool{}
	for _, s := range Settings() {
		byPath[s.Path] = s
		for i := range len(s.Path) {
			if s.Path[i] == '.' {
				blocks[s.Path[:i]] = true
			}
		}
	}
	return diagErrors(decodeBody(f.Body.(*hclsyntax.Body), "", cfg, byPath, blocks))
}

// diagErrors turns every error diagnostic into its own error ("file:line,col: summary; detail").
func diagErrors(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, fmt.Errorf("config file %w", d))
		}
	}
	return errors.Join(errs...)
}

func decodeBody(body *hclsyntax.Body, prefix string, cfg *Service, byPath map[string]Setting, blocks map[string]bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(body.Attributes)) {
		attr := body.Attributes[name]
		s, ok := byPath[prefix+name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown setting",
				Detail: fmt.Sprintf("%q is not a setting here; settings of this block: %s", prefix+name, strings.Join(childNames(prefix, byPath, blocks), ", ")), Subject: attr.NameRange.Ptr()})
			continue
		}
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		text, err := settingText(s.Kind, v)
		if err == nil {
			err = s.set(cfg, text)
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for " + s.Path,
				Detail: err.Error(), Subject: attr.Expr.Range().Ptr()})
		}
	}
	for _, b := range body.Blocks {
		path := prefix + b.Type
		if !blocks[path] || len(b.Labels) > 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown block",
				Detail: fmt.Sprintf("block %q (with %d labels) is not part of the configuration; blocks here: %s", path, len(b.Labels), strings.Join(childNames(prefix, byPath, blocks), ", ")), Subject: b.TypeRange.Ptr()})
			continue
		}
		diags = append(diags, decodeBody(b.Body, path+".", cfg, byPath, blocks)...)
	}
	return diags
}

// settingText turns a config-file value into the setting's text form.
func settingText(kind string, v cty.Value) (string, error) {
	if v.IsNull() || !v.IsWhollyKnown() {
		return "", errors.New("value is null or unknown")
	}
	switch kind {
	case "list":
		if !v.Type().IsListType() && !v.Type().IsTupleType() {
			return "", fmt.Errorf("want a list of strings, got %s", v.Type().FriendlyName())
		}
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() != cty.String || e.IsNull() {
				return "", fmt.Errorf("want a list of strings, got an element of type %s", e.Type().FriendlyName())
			}
			parts = append(parts, e.AsString())
		}
		return strings.Join(parts, ","), nil
	case "bool":
		if v.Type() != cty.Bool {
			return "", fmt.Errorf("want true or false, got %s", v.Type().FriendlyName())
		}
		return strconv.FormatBool(v.True()), nil
	default:
		if v.Type() != cty.String {
			return "", fmt.Errorf("want a string, got %s", v.Type().FriendlyName())
		}
		return v.AsString(), nil
	}
}

// childNames lists the settings and blocks directly under prefix.
func childNames(prefix string, byPath map[string]Setting, blocks map[string]bool) []string {
	seen := map[string]bool{}
	for _, m := range []map[string]bool{blocks, keysOf(byPath)} {
		for p := range m {
			if rest, ok := strings.CutPrefix(p, prefix); ok && !strings.Contains(rest, ".") {
				seen[rest] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func keysOf(m map[string]Setting) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// SetFlagsFromEnv sets each flag in env (flag name → environment variable) that the command
// line did not set from its environment variable, so a service's own flags follow the same
// order as the shared settings: defaults < environment < flags. It reports every bad value.
func SetFlagsFromEnv(fs *flag.FlagSet, env map[string]string, getenv func(string) (string, bool)) []error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if v, ok := getenv(env[name]); ok && !set[name] {
			if err := fs.Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", env[name], err))
			}
		}
	}
	return errs
}
