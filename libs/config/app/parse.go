package app

import (
	"fmt"
	"os"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// File is one source file: its name (as diagnostics show it) and its bytes.
type File struct {
	Name string
	Src  []byte
}

// Options tunes Parse.
type Options struct {
	// Vars sets variables as the command line's -var does: each "NAME=VALUE". A value
	// for a string variable is taken as written; any other is read as an HCL expression.
	// They are applied after VarFiles, and a later setting wins.
	Vars []string
	// VarFiles set variables as -var-file does: HCL files of NAME = VALUE attributes,
	// applied in order.
	VarFiles []File
	// Handlers are the Go handlers compiled into the worker. When it is empty, handler
	// names are not checked (App.Handlers lists the ones used).
	Handlers []string
}

// Parse reads one app from files (by name; order does not matter) and validates it. The
// app is nil when diags has errors. Syntax errors are reported alone; after them come all
// schema and semantic problems together. files maps names to source, as does
// hcl.NewDiagnosticTextWriter, which can print the diagnostics with Files(files).
func Parse(files map[string][]byte, opts Options) (*App, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var parsed []parsedFile
	for _, name := range sortedKeys(files) {
		f, fd := hclsyntax.ParseConfig(files[name], name, hcl.InitialPos)
		diags = append(diags, fd...)
		if f != nil {
			parsed = append(parsed, parsedFile{name: name, src: files[name], file: f})
		}
	}
	if len(files) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No files", Detail: "Give at least one app file."})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	p := &parser{opts: opts, diags: &diags}
	a := p.decode(parsed)
	diags = append(diags, a.validate()...)
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// ParseFiles reads the files at paths and parses them as one app, as Parse does. Files
// that cannot be read are reported as diagnostics.
func ParseFiles(paths []string, opts Options) (*App, hcl.Diagnostics) {
	files, diags := ReadFiles(paths)
	if diags.HasErrors() {
		return nil, diags
	}
	return Parse(files, opts)
}

// ReadFiles reads the files at paths for Parse.
func ReadFiles(paths []string) (map[string][]byte, hcl.Diagnostics) {
	files := map[string][]byte{}
	var diags hcl.Diagnostics
	for _, p := range slices.Compact(slices.Sorted(slices.Values(paths))) {
		b, err := os.ReadFile(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read file",
				Detail: fmt.Sprintf("reading %s: %v", p, err)})
			continue
		}
		files[p] = b
	}
	return files, diags
}

// Files returns files as hcl.Files for hcl.NewDiagnosticTextWriter's snippets.
func Files(files map[string][]byte) map[string]*hcl.File {
	out := make(map[string]*hcl.File, len(files))
	for name, src := range files {
		out[name] = &hcl.File{Bytes: src}
	}
	return out
}

type parsedFile struct {
	name string
	src  []byte
	file *hcl.File
}

// block is a top-level block with the decoder of its file.
type block struct {
	*hcl.Block
	d *decoder
}

// parser holds the state of one Parse: it decodes every block into an App.
type parser struct {
	opts  Options
	diags *hcl.Diagnostics
	ctx   *hcl.EvalContext
}

func (p *parser) decode(files []parsedFile) *App {
	a := &App{opts: p.opts, Guarantee: GuaranteeExactState, CommitInterval: DefaultCommitInterval, DedupHorizon: DefaultDedupHorizon, Partitions: DefaultPartitions}
	byType := map[string][]block{}
	p.ctx = &hcl.EvalContext{Functions: Functions()}
	for _, f := range files {
		content, diags := f.file.Body.Content(fileSchema)
		*p.diags = append(*p.diags, diags...)
		d := &decoder{src: f.src, ctx: p.ctx, diags: p.diags}
		for _, b := range content.Blocks {
			byType[b.Type] = append(byType[b.Type], block{Block: b, d: d})
		}
	}
	p.variables(a, byType["variable"])
	p.locals(a, byType["locals"])
	p.appBlock(a, byType["app"], files)
	for _, b := range byType["model"] {
		if m := decodeModel(b); m != nil {
			a.Models = append(a.Models, m)
		}
	}
	for _, b := range byType["topic"] {
		if t := decodeTopic(b, a); t != nil {
			a.Topics = append(a.Topics, t)
		}
	}
	for _, b := range byType["table"] {
		if t := decodeTable(b); t != nil {
			a.Tables = append(a.Tables, t)
		}
	}
	for _, b := range byType["agent"] {
		if g := decodeAgent(b); g != nil {
			a.Agents = append(a.Agents, g)
		}
	}
	for _, b := range byType["timer"] {
		if t := decodeTimer(b); t != nil {
			a.Timers = append(a.Timers, t)
		}
	}
	return a
}

func (p *parser) appBlock(a *App, blocks []block, files []parsedFile) {
	if len(blocks) == 0 {
		rng := hcl.Range{Filename: files[0].name, Start: hcl.InitialPos, End: hcl.InitialPos}
		*p.diags = append(*p.diags, errorAt(&rng, "Missing app block",
			"An app needs exactly one app block, such as app \"pageviews\" {}."))
		return
	}
	for _, dup := range blocks[1:] {
		*p.diags = append(*p.diags, errorAt(dup.DefRange.Ptr(), "Duplicate app block",
			"An app has exactly one app block; the first is at %s.", blocks[0].DefRange))
	}
	b := blocks[0]
	d := b.d
	a.Name = d.label(b.Block, 0)
	a.DeclRange = b.DefRange
	content, _ := d.content(b.Body, appSchema)
	attrs := content.Attributes
	if at := attrs["description"]; at != nil {
		a.Description, _ = d.str(at)
	}
	if at := attrs["guarantee"]; at != nil {
		if g, ok := d.oneOf(at, GuaranteeExactState, GuaranteeAtLeastOnce); ok {
			a.Guarantee = g
		}
	}
	if at := attrs["standby_replicas"]; at != nil {
		a.StandbyReplicas, _ = d.integer(at, 0, 16)
	}
	if at := attrs["commit_interval"]; at != nil {
		if dur, ok := d.duration(at); ok {
			if dur <= 0 {
				d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration", "commit_interval must be positive, got %s.", dur))
			} else {
				a.CommitInterval = dur
			}
		}
	}
	if at := attrs["dedup_horizon"]; at != nil {
		if dur, ok := d.duration(at); ok {
			if dur <= 0 {
				d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration", "dedup_horizon must be positive, got %s.", dur))
			} else {
				a.DedupHorizon = dur
			}
		}
	}
	if at := attrs["partitions"]; at != nil {
		if n, ok := d.integer(at, 1, maxPartitions); ok {
			a.Partitions = n
		}
	}
	if at := attrs["replication"]; at != nil {
		a.Replication, _ = d.integer(at, 0, maxReplication)
	}
}

// Bounds of counts.
const (
	maxPartitions  = 10000
	maxReplication = 32
)
