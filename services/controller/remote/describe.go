package remote

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// DescribeSummary is describe's line in the controller's usage.
const DescribeSummary = "show an app's version, task groups, topics, consumer group and epoch floor"

// Describe runs `controller describe APP`.
func Describe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("describe", "describe [flags] APP", stdout, stderr)
	pos, code, ok := cmd.parse(args, 1, 1)
	if !ok {
		return code
	}
	res, err := getApp(ctx, cmd, pos[0], 0)
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	v, st := res.GetVersion(), res.GetStatus()
	fmt.Fprintf(stdout, "App:            %s\n", v.GetApp())
	fmt.Fprintf(stdout, "Version:        %d (%s by %s at %s)\n", v.GetVersion(), v.GetOrigin(), v.GetAuthor(), v.GetCreatedAt().AsTime().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(stdout, "Digest:         %s\n", v.GetDigest())
	fmt.Fprintf(stdout, "Consumer group: %s\n", st.GetConsumerGroup())
	fmt.Fprintf(stdout, "Epoch floor:    %d\n", st.GetEpochFloor())
	if st.GetPaused() {
		fmt.Fprintf(stdout, "Paused:         yes (%s)\n", st.GetPausedReason())
	}
	fmt.Fprintf(stdout, "Task groups:\n")
	for _, g := range st.GetTaskGroups() {
		fmt.Fprintf(stdout, "  %s: %d partitions, agents %s, changelog %s\n", g.GetName(), g.GetPartitions(), strings.Join(g.GetAgents(), ", "), g.GetChangelog())
	}
	fmt.Fprintf(stdout, "Topics:\n")
	for _, t := range st.GetTopics() {
		fmt.Fprintf(stdout, "  %s\n", t)
	}
	return exitOK
}
