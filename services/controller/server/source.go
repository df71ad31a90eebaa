package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/hashicorp/hcl/v2"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config/app"
)

// source is an app's source as stored with each version.
type source struct {
	Files    []cluster.SourceFile
	Vars     []string
	VarFiles []cluster.SourceFile
}

func sourceFromProto(s *weirv1.AppSource) source {
	conv := func(in []*weirv1.SourceFile) []cluster.SourceFile {
		out := make([]cluster.SourceFile, 0, len(in))
		for _, f := range in {
			out = append(out, cluster.SourceFile{Name: f.GetName(), Content: f.GetContent()})
		}
		return out
	}
	return source{Files: conv(s.GetFiles()), Vars: s.GetVars(), VarFiles: conv(s.GetVarFiles())}
}

func sourceOf(v cluster.AppVersion) source {
	return source{Files: v.Files, Vars: v.Vars, VarFiles: v.VarFiles}
}

// parsed is a valid app with its normalized JSON.
type parsed struct {
	App        *app.App
	Normalized []byte
	Digest     string
}

// parse checks the request's files and parses them. Bad input is INVALID_ARGUMENT with the
// diagnostics as text in the message and as a weir.v1.Diagnostics detail.
func parse(src source) (*parsed, hcl.Diagnostics, error) {
	if len(src.Files) == 0 {
		return nil, nil, invalid("no app files given")
	}
	files := map[string][]byte{}
	for _, f := range src.Files {
		if f.Name == "" {
			return nil, nil, invalid("a file has no name")
		}
		if _, dup := files[f.Name]; dup {
			return nil, nil, invalid("file %q is given twice", f.Name)
		}
		files[f.Name] = []byte(f.Content)
	}
	opts := app.Options{Vars: src.Vars}
	for _, f := range src.VarFiles {
		opts.VarFiles = append(opts.VarFiles, app.File{Name: f.Name, Src: []byte(f.Content)})
	}
	a, diags := app.Parse(files, opts)
	if diags.HasErrors() {
		return nil, diags, diagnosticsError(files, diags)
	}
	norm, err := a.NormalizedJSON()
	if err != nil {
		return nil, diags, connect.NewError(connect.CodeInternal, err)
	}
	sum := sha256.Sum256(norm)
	return &parsed{App: a, Normalized: norm, Digest: hex.EncodeToString(sum[:])}, diags, nil
}

func diagnosticsError(files map[string][]byte, diags hcl.Diagnostics) error {
	var text bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&text, app.Files(files), 100, false)
	_ = w.WriteDiagnostics(diags) // writes to memory
	n := len(diags.Errs())
	err := connect.NewError(connect.CodeInvalidArgument,
		fmt.Errorf("the app is invalid (%d error(s)):\n%s", n, strings.TrimRight(text.String(), "\n")))
	if detail, derr := connect.NewErrorDetail(&weirv1.Diagnostics{Diagnostics: toProto(diags)}); derr == nil {
		err.AddDetail(detail)
	}
	return err
}

func toProto(diags hcl.Diagnostics) []*weirv1.Diagnostic {
	out := make([]*weirv1.Diagnostic, 0, len(diags))
	for _, d := range diags {
		pd := &weirv1.Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			pd.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			pd.File, pd.Line, pd.Column = r.Filename, int32(r.Start.Line), int32(r.Start.Column)
			pd.EndLine, pd.EndColumn = int32(r.End.Line), int32(r.End.Column)
		}
		out = append(out, pd)
	}
	return out
}

// versionProto converts a stored version; withSource adds its files and normalized JSON.
func versionProto(v cluster.AppVersion, withSource bool) *weirv1.AppVersion {
	out := &weirv1.AppVersion{
		App: v.App, Version: v.Version, Author: v.Author, Origin: v.Origin, ResetState: v.ResetState,
		Digest: v.Digest, CreatedAt: timestamp(v.CreatedAt), Vars: v.Vars,
	}
	if withSource {
		for _, f := range v.Files {
			out.Files = append(out.Files, &weirv1.SourceFile{Name: f.Name, Content: f.Content})
		}
		for _, f := range v.VarFiles {
			out.VarFiles = append(out.VarFiles, &weirv1.SourceFile{Name: f.Name, Content: f.Content})
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v.Normalized); err != nil {
			compact.Reset()
			compact.Write(v.Normalized)
		}
		out.NormalizedJson = compact.String()
	}
	return out
}
