package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
)

// Text renders a plan for people, as `controller plan` prints it.
func Text(p *weirv1.Plan) string {
	var b strings.Builder
	switch {
	case p.NoChanges:
		fmt.Fprintf(&b, "No changes. App %s is up to date at version %d.\n", p.App, p.CurrentVersion)
		return b.String()
	case p.CurrentVersion == 0:
		fmt.Fprintf(&b, "App %s: new app; apply stores version 1.\n", p.App)
	case p.DefinitionChanged:
		fmt.Fprintf(&b, "App %s: changes version %d; apply stores version %d.\n", p.App, p.CurrentVersion, p.CurrentVersion+1)
	default:
		fmt.Fprintf(&b, "App %s: definition unchanged at version %d; apply only fixes its topics.\n", p.App, p.CurrentVersion)
	}

	var topicLines []string
	for _, t := range p.Topics {
		var mark, what string
		switch t.Action {
		case TopicCreate:
			mark, what = "+", fmt.Sprintf("create %s (%s, %d partitions%s)", t.Name, t.Role, t.Partitions, configText(t.Configs))
		case TopicUpdateConfigs:
			mark, what = "~", fmt.Sprintf("set configs of %s (%s): %s", t.Name, t.Role, strings.TrimPrefix(configText(t.Configs), ", "))
		case TopicRecreate:
			mark, what = "±", fmt.Sprintf("recreate %s (%s, %d partitions): %s", t.Name, t.Role, t.Partitions, t.Reason)
		case TopicRefused:
			mark, what = "!", fmt.Sprintf("refused: %s", t.Reason)
		default:
			continue
		}
		topicLines = append(topicLines, fmt.Sprintf("  %s %s", mark, what))
	}
	if len(topicLines) > 0 {
		b.WriteString("\nTopics:\n")
		b.WriteString(strings.Join(topicLines, "\n"))
		b.WriteString("\n")
	}

	if len(p.Changes) > 0 {
		b.WriteString("\nDefinition:\n")
		for _, c := range p.Changes {
			mark := map[string]string{ActionAdd: "+", ActionChange: "~", ActionRemove: "-"}[c.Action]
			fmt.Fprintf(&b, "  %s %s %s\n", mark, c.Kind, c.Name)
			for _, d := range c.Details {
				fmt.Fprintf(&b, "      %s\n", d)
			}
		}
	}

	if len(p.StateBreaks) > 0 {
		b.WriteString("\nState:\n")
		for _, s := range p.StateBreaks {
			fmt.Fprintf(&b, "  ! %s: %s\n", s.Object, s.Reason)
		}
		if p.ResetsState {
			b.WriteString("  Apply wipes the app's state (--reset-state): its tasks pause, its changelog and\n" +
				"  repartition topics are recreated empty, its epoch floor rises, and its tables rebuild\n" +
				"  from the input topics at the group's committed offsets.\n")
		}
	}

	if len(p.Refusals) > 0 {
		b.WriteString("\nApply is refused:\n")
		for _, r := range p.Refusals {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	return b.String()
}

func configText(c map[string]string) string {
	if len(c) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, k+"="+c[k])
	}
	return ", " + strings.Join(parts, ", ")
}
