package app

import "github.com/hashicorp/hcl/v2"

func decodeAgent(b block) *Agent {
	d := b.d
	name := d.label(b.Block, 0)
	content, r := d.content(b.Body, agentSchema)
	attrs := content.Attributes
	g := &Agent{Name: name, DeclRange: b.DefRange, ranges: r}
	if at := attrs["description"]; at != nil {
		g.Description, _ = d.str(at)
	}
	if at := attrs["from"]; at != nil {
		g.From, _ = d.refList(at, "topic")
	}
	if at := attrs["handler"]; at != nil {
		g.Handler, _ = d.str(at)
	}
	var steps hcl.Blocks
	for _, sb := range content.Blocks {
		if sb.Type != "on_error" {
			steps = append(steps, sb)
			continue
		}
		if g.OnError != nil {
			d.add(errorAt(sb.DefRange.Ptr(), "Duplicate on_error",
				"Agent %q already has an on_error block at %s.", name, g.OnError.DeclRange))
			continue
		}
		g.OnError = decodeOnError(d, sb)
	}
	if g.OnError == nil {
		g.OnError = &ErrorPolicy{Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff, Then: ThenStop, DeclRange: b.DefRange}
	}
	g.Steps = decodeSteps(d, steps)
	if name == "" {
		return nil
	}
	return g
}

func decodeOnError(d *decoder, b *hcl.Block) *ErrorPolicy {
	content, r := d.content(b.Body, onErrorSchema)
	attrs := content.Attributes
	p := &ErrorPolicy{Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff, Then: ThenStop, DeclRange: b.DefRange, ranges: r}
	if at := attrs["retries"]; at != nil {
		p.Retries, _ = d.integer(at, 0, 1000)
	}
	for _, x := range []struct {
		name string
		dst  *Duration
	}{{"backoff", &p.Backoff}, {"max_backoff", &p.MaxBackoff}} {
		if at := attrs[x.name]; at != nil {
			if dur, ok := d.duration(at); ok {
				if dur <= 0 {
					d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration", "%s must be positive, got %s.", x.name, dur))
				} else {
					*x.dst = dur
				}
			} else {
				delete(p.ranges, x.name)
			}
		}
	}
	if at := attrs["then"]; at != nil {
		if s, ok := d.oneOf(at, ThenStop, ThenSkip, ThenDeadLetter); ok {
			p.Then = s
		} else {
			p.Then = ""
		}
	}
	if at := attrs["dead_letter"]; at != nil {
		p.DeadLetter, _ = d.ref(at, "topic")
	}
	return p
}

func decodeSteps(d *decoder, blocks hcl.Blocks) []*Step {
	var steps []*Step
	for _, sb := range blocks {
		content, r := d.content(sb.Body, blockSchemas[sb.Type])
		attrs := content.Attributes
		s := &Step{Kind: sb.Type, DeclRange: sb.DefRange, ranges: r}
		if len(sb.Labels) > 0 {
			s.Label = sb.Labels[0]
		}
		switch sb.Type {
		case StepSet, StepLookup:
			s.Label = d.label(sb, 0)
		case StepAggregate:
			if _, ok := d.labelOneOf(sb, aggregateFuncs); !ok {
				s.Label = ""
			}
		}
		for _, x := range []struct {
			name string
			dst  *Expr
		}{{"when", &s.When}, {"key", &s.Key}, {"value", &s.Value}} {
			if at := attrs[x.name]; at != nil {
				*x.dst = d.expr(at)
			}
		}
		if at := attrs["into"]; at != nil {
			s.Into, _ = d.ref(at, "table")
		}
		if at := attrs["table"]; at != nil {
			s.Table, _ = d.ref(at, "table")
		}
		if at := attrs["to"]; at != nil {
			s.To, _ = d.ref(at, "topic")
		}
		steps = append(steps, s)
	}
	return steps
}

// labelOneOf checks that a block's first label is one of allowed.
func (d *decoder) labelOneOf(b *hcl.Block, allowed []string) (string, bool) {
	l := b.Labels[0]
	for _, a := range allowed {
		if l == a {
			return l, true
		}
	}
	rng := b.LabelRanges[0]
	d.add(errorAt(&rng, "Unknown "+b.Type+" function",
		"%s %q is not one of %s.%s", b.Type, l, quoteAll(allowed), suggest(l, allowed, "")))
	return "", false
}

func decodeTimer(b block) *Timer {
	d := b.d
	name := d.label(b.Block, 0)
	content, r := d.content(b.Body, timerSchema)
	attrs := content.Attributes
	t := &Timer{Name: name, RunOn: RunOnOneWorker, DeclRange: b.DefRange, ranges: r}
	if at := attrs["description"]; at != nil {
		t.Description, _ = d.str(at)
	}
	if at := attrs["every"]; at != nil {
		if dur, ok := d.duration(at); ok {
			if dur <= 0 {
				d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration", "every must be positive, got %s.", dur))
			} else {
				t.Every = dur
			}
		}
	}
	if at := attrs["cron"]; at != nil {
		t.Cron, _ = d.str(at)
	}
	if at := attrs["run_on"]; at != nil {
		t.RunOn, _ = d.oneOf(at, RunOnOneWorker, RunOnEveryWorker)
	}
	if at := attrs["handler"]; at != nil {
		t.Handler, _ = d.str(at)
	}
	t.Steps = decodeSteps(d, content.Blocks)
	if name == "" {
		return nil
	}
	return t
}
