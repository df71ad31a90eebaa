package app

import "github.com/hashicorp/hcl/v2"

// decodeWindow decodes a window block. Its parameters are checked against each other by
// Validate.
func decodeWindow(d *decoder, kind string, kindRange hcl.Range, body hcl.Body, decl hcl.Range) *Window {
	content, r := d.content(body, windowSchema)
	w := &Window{Kind: kind, DeclRange: decl, ranges: r, failed: map[string]bool{}}
	switch kind {
	case WindowTumbling, WindowHopping, WindowSession:
	default:
		kinds := []string{WindowTumbling, WindowHopping, WindowSession}
		d.add(errorAt(&kindRange, "Invalid window kind",
			"A window is %s, got %q.%s", quoteAll(kinds), kind, suggest(kind, kinds, "")))
		return nil
	}
	for _, p := range []struct {
		name string
		dst  *Duration
	}{{"size", &w.Size}, {"step", &w.Step}, {"gap", &w.Gap}, {"grace", &w.Grace}, {"expires", &w.Expires}} {
		if at := content.Attributes[p.name]; at != nil {
			if dur, ok := d.duration(at); ok {
				*p.dst = dur
			} else {
				w.failed[p.name] = true
			}
		}
	}
	return w
}
