//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/controller/cli"
	"github.com/weirhq/weir/services/controller/plan"
)

// TestControllerExamples validates, plans and applies every example; its topics then exist
// with the declared partitions and its changelogs with the commit protocol's settings, and a
// second apply is a no-op.
func TestControllerExamples(t *testing.T) {
	env := newCtlEnv(t)
	p := env.start(t, "c1")
	dirs, err := filepath.Glob(filepath.Join(harness.Root(), "examples", "*", "app.hcl"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			ctx := harness.Context(t, 2*time.Minute)
			ex := loadExample(t, name)
			for proto, c := range ctlClients(t, p.Addr) {
				v, err := c.Validate(ctx, connect.NewRequest(&weirv1.ValidateRequest{Source: ex.Source}))
				if err != nil || !v.Msg.GetValid() || v.Msg.GetApp() != ex.App {
					t.Fatalf("%s: Validate = %v, %v", proto, v.Msg, err)
				}
			}
			c := ctlClient(t, p.Addr)
			pl, err := c.Plan(ctx, connect.NewRequest(&weirv1.PlanRequest{Source: ex.Source}))
			if err != nil {
				t.Fatal(err)
			}
			if pl.Msg.Plan.NoChanges || !pl.Msg.Plan.Allowed || !strings.Contains(pl.Msg.Plan.Text, "new app") {
				t.Fatalf("plan of a new app:\n%s", pl.Msg.Plan.Text)
			}
			res, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source, Author: "tester"}))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Msg.Created || res.Msg.Version.Version != 1 || res.Msg.Version.Author != "tester" {
				t.Fatalf("first apply: created %v, version %d", res.Msg.Created, res.Msg.Version.Version)
			}
			for _, tc := range res.Msg.Plan.Topics {
				info := describe(t, ctx, tc.Name)
				if info.Partitions != int(tc.Partitions) {
					t.Errorf("topic %s has %d partitions, declared %d", tc.Name, info.Partitions, tc.Partitions)
				}
				if tc.Role == plan.RoleChangelog {
					for k, want := range map[string]string{
						"cleanup.policy": "compact", "min.compaction.lag.ms": "3600000",
						"max.message.bytes": "8388608", "message.timestamp.type": "LogAppendTime",
					} {
						if got := info.Configs[k]; got != want {
							t.Errorf("changelog %s: %s = %q, want %q", tc.Name, k, got, want)
						}
					}
				}
			}
			roles := map[string]int{}
			for _, tc := range res.Msg.Plan.Topics {
				roles[tc.Role]++
			}
			if roles[plan.RoleChangelog] == 0 || roles[plan.RoleDeadLetter] != 1 || roles[plan.RoleDeclared] == 0 {
				t.Errorf("topic roles %v: want changelogs, one dead-letter topic and declared topics", roles)
			}

			// Applying the same file again changes nothing.
			again, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source}))
			if err != nil {
				t.Fatal(err)
			}
			if again.Msg.Created || !again.Msg.Plan.NoChanges || again.Msg.Version.Version != 1 ||
				!strings.Contains(again.Msg.Plan.Text, "No changes") {
				t.Errorf("second apply: created %v, plan:\n%s", again.Msg.Created, again.Msg.Plan.Text)
			}
			topo, err := env.etcd.Get(ctx, env.layout.Topology(ex.App))
			if err != nil || len(topo.Kvs) != 1 {
				t.Fatalf("topology of %s: %v, %v", ex.App, topo, err)
			}
			if tp, err := cluster.DecodeTopology(topo.Kvs[0].Value); err != nil || len(tp.Groups) == 0 {
				t.Errorf("topology %s: %v", topo.Kvs[0].Value, err)
			}
		})
	}
}

// TestControllerVersionsRollbackAndStateBreaks: a changed file becomes version 2, history
// lists both, rollback 1 makes version 3 equal to version 1, a state-breaking change is
// refused without reset_state and accepted with it (recreating the changelog, raising the
// epoch floor).
func TestControllerVersionsRollbackAndStateBreaks(t *testing.T) {
	env := newCtlEnv(t)
	p := env.start(t, "c1")
	c := ctlClient(t, p.Addr)
	ctx := harness.Context(t, 3*time.Minute)
	ex := loadExample(t, "wordcount")

	v1, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source, Author: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	changed := ex.edited(t, func(b *hclwrite.Body) {
		block(b, "app", "").Body().SetAttributeValue("commit_interval", cty.StringVal("250ms"))
	})
	v2, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: changed, Author: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Msg.Created || v2.Msg.Version.Version != 2 || v2.Msg.Version.Digest == v1.Msg.Version.Digest {
		t.Fatalf("changed file: version %d created %v", v2.Msg.Version.Version, v2.Msg.Created)
	}
	if !strings.Contains(v2.Msg.Plan.Text, "commit_interval") {
		t.Errorf("plan does not show the change:\n%s", v2.Msg.Plan.Text)
	}
	h, err := c.History(ctx, connect.NewRequest(&weirv1.HistoryRequest{App: ex.App}))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Msg.Versions) != 2 || h.Msg.Versions[0].Author != "a" || h.Msg.Versions[1].Author != "b" {
		t.Fatalf("history %v", h.Msg.Versions)
	}

	rb, err := c.Rollback(ctx, connect.NewRequest(&weirv1.RollbackRequest{App: ex.App, Version: 1, Author: "c"}))
	if err != nil {
		t.Fatal(err)
	}
	if !rb.Msg.Created || rb.Msg.Version.Version != 3 || rb.Msg.Version.Digest != v1.Msg.Version.Digest ||
		rb.Msg.Version.Origin != "rollback to 1" || rb.Msg.Version.NormalizedJson != v1.Msg.Version.NormalizedJson {
		t.Fatalf("rollback: version %d origin %q digest %s (v1 %s)", rb.Msg.Version.Version, rb.Msg.Version.Origin, rb.Msg.Version.Digest, v1.Msg.Version.Digest)
	}
	got, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App}))
	if err != nil || got.Msg.Version.Version != 3 || got.Msg.Status.CurrentVersion != 3 {
		t.Fatalf("get after rollback: %v, %v", got.Msg, err)
	}
	if old, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App, Version: 2})); err != nil || old.Msg.Version.Digest != v2.Msg.Version.Digest {
		t.Fatalf("get version 2: %v", err)
	}

	// Something in the changelog, to see it recreated empty.
	changelog := "weir." + ex.App + ".count_words.changelog"
	produce(t, ctx, changelog, 3)

	breaking := ex.edited(t, func(b *hclwrite.Body) {
		block(b, "table", "word_counts").Body().SetAttributeRaw("value", hclwrite.TokensForIdentifier("json"))
	})
	_, err = c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: breaking}))
	if connectCode(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "--reset-state") ||
		!strings.Contains(err.Error(), "value type changes from number to json") {
		t.Fatalf("state-breaking apply without reset_state: %v", err)
	}
	pl, err := c.Plan(ctx, connect.NewRequest(&weirv1.PlanRequest{Source: breaking}))
	if err != nil || pl.Msg.Plan.Allowed || len(pl.Msg.Plan.StateBreaks) != 1 {
		t.Fatalf("plan of a state-breaking change: %v, %v", pl.Msg.GetPlan(), err)
	}
	floorBefore := got.Msg.Status.EpochFloor
	res, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: breaking, ResetState: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Msg.Created || res.Msg.Version.Version != 4 || !res.Msg.Version.ResetState || !res.Msg.Plan.ResetsState {
		t.Fatalf("apply with reset_state: version %d reset %v", res.Msg.Version.Version, res.Msg.Version.ResetState)
	}
	if n := endOffsets(t, ctx, changelog); n != 0 {
		t.Errorf("changelog %s holds %d records after the reset, want 0 (recreated)", changelog, n)
	}
	after, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App}))
	if err != nil {
		t.Fatal(err)
	}
	if after.Msg.Status.EpochFloor <= floorBefore || after.Msg.Status.Paused {
		t.Errorf("epoch floor %d (before %d), paused %v", after.Msg.Status.EpochFloor, floorBefore, after.Msg.Status.Paused)
	}
}

// TestControllerResetAndDelete: reset commits the group's offsets (earliest, latest, by
// timestamp), a wipe recreates the changelogs and raises the epoch floor; delete removes the
// app and, when asked, its internal topics, keeping the declared ones.
func TestControllerResetAndDelete(t *testing.T) {
	env := newCtlEnv(t)
	p := env.start(t, "c1")
	c := ctlClient(t, p.Addr)
	ctx := harness.Context(t, 3*time.Minute)
	ex := loadExample(t, "wordcount")
	if _, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source})); err != nil {
		t.Fatal(err)
	}
	input := ex.Prefix + "sentences"
	changelog := "weir." + ex.App + ".count_words.changelog"
	group := "weir." + ex.App
	produce(t, ctx, input, 8)
	mid := time.Now()
	time.Sleep(50 * time.Millisecond)
	produce(t, ctx, input, 4)
	produce(t, ctx, changelog, 2)
	admin := harness.Admin(t)
	var ranges map[topics.TopicPartition]topics.OffsetRange
	var err error
	waitFor(t, 15*time.Second, "offsets of "+input, func() bool {
		ranges, err = harness.Admin(t).ListOffsets(ctx, input)
		return err == nil
	})
	parts := make([]topics.TopicPartition, 0, len(ranges))
	for tp := range ranges {
		parts = append(parts, tp)
	}
	committed := func() (sum int64) {
		got, err := admin.FetchOffsets(ctx, group, parts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(parts) {
			t.Fatalf("group %s has offsets for %d of %d partitions", group, len(got), len(parts))
		}
		for _, o := range got {
			sum += o
		}
		return sum
	}
	reset := func(req *weirv1.ResetRequest) *weirv1.ResetResponse {
		t.Helper()
		req.App = ex.App
		res, err := c.Reset(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("reset %v: %v", req, err)
		}
		return res.Msg
	}

	if r := reset(&weirv1.ResetRequest{To: "latest"}); r.ConsumerGroup != group || len(r.Offsets) != len(parts) {
		t.Fatalf("reset latest: %v", r)
	}
	if got := committed(); got != 12 {
		t.Errorf("after reset to latest the group's offsets sum to %d, want 12", got)
	}
	reset(&weirv1.ResetRequest{To: "earliest"})
	if got := committed(); got != 0 {
		t.Errorf("after reset to earliest the group's offsets sum to %d, want 0", got)
	}
	reset(&weirv1.ResetRequest{To: "timestamp", Timestamp: timestamppb.New(mid)})
	if got := committed(); got != 8 {
		t.Errorf("after reset to the middle the group's offsets sum to %d, want 8 (the records before it)", got)
	}
	st, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App}))
	if err != nil {
		t.Fatal(err)
	}
	wiped := reset(&weirv1.ResetRequest{To: "none", WipeState: true})
	if !wiped.StateWiped || len(wiped.RecreatedTopics) != 2 || wiped.EpochFloor <= st.Msg.Status.EpochFloor {
		t.Errorf("wipe: %v (floor before %d)", wiped, st.Msg.Status.EpochFloor)
	}
	if n := endOffsets(t, ctx, changelog); n != 0 {
		t.Errorf("changelog holds %d records after the wipe, want 0", n)
	}
	if got := committed(); got != 8 {
		t.Errorf("a wipe with to=none moved the offsets: sum %d, want 8", got)
	}
	if _, err := c.Reset(ctx, connect.NewRequest(&weirv1.ResetRequest{App: ex.App, To: "sideways"})); connectCode(err) != connect.CodeInvalidArgument {
		t.Errorf("bad reset target: %v", err)
	}

	del, err := c.Delete(ctx, connect.NewRequest(&weirv1.DeleteRequest{App: ex.App, DeleteTopics: true}))
	if err != nil {
		t.Fatal(err)
	}
	if del.Msg.VersionsDeleted != 1 || len(del.Msg.DeletedTopics) != 3 {
		t.Errorf("delete: %v", del.Msg)
	}
	if _, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App})); connectCode(err) != connect.CodeNotFound {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := c.History(ctx, connect.NewRequest(&weirv1.HistoryRequest{App: ex.App})); connectCode(err) != connect.CodeNotFound {
		t.Errorf("history after delete: %v", err)
	}
	if resp, err := env.etcd.Get(ctx, env.layout.AppPrefix(ex.App), clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || resp.Count != 0 {
		t.Errorf("%d keys left under the app's prefix (%v)", resp.Count, err)
	}
	waitFor(t, 30*time.Second, "internal topics to be deleted", func() bool {
		for _, n := range del.Msg.DeletedTopics {
			if _, err := harness.Admin(t).DescribeTopic(ctx, n); err == nil {
				return false
			}
		}
		return true
	})
	if _, err := harness.Admin(t).DescribeTopic(ctx, input); err != nil {
		t.Errorf("declared topic %s was deleted: %v", input, err)
	}
}

// TestControllerBadInput: unknown apps, malformed HCL, invalid apps, oversized bodies and a
// partition-count change get clear Connect errors over both protocols, and the controller
// keeps serving.
func TestControllerBadInput(t *testing.T) {
	env := newCtlEnv(t)
	p := env.start(t, "c1", "--max-request-bytes", "8192")
	ctx := harness.Context(t, 2*time.Minute)
	for proto, c := range ctlClients(t, p.Addr) {
		t.Run(proto, func(t *testing.T) {
			for name, call := range map[string]func() error{
				"get": func() error { _, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: "nope"})); return err },
				"history": func() error {
					_, err := c.History(ctx, connect.NewRequest(&weirv1.HistoryRequest{App: "nope"}))
					return err
				},
				"rollback": func() error {
					_, err := c.Rollback(ctx, connect.NewRequest(&weirv1.RollbackRequest{App: "nope", Version: 1}))
					return err
				},
				"reset": func() error {
					_, err := c.Reset(ctx, connect.NewRequest(&weirv1.ResetRequest{App: "nope", To: "earliest"}))
					return err
				},
				"delete": func() error {
					_, err := c.Delete(ctx, connect.NewRequest(&weirv1.DeleteRequest{App: "nope"}))
					return err
				},
			} {
				if err := call(); connectCode(err) != connect.CodeNotFound || !strings.Contains(err.Error(), "nope") {
					t.Errorf("%s of an unknown app: %v, want not_found naming it", name, err)
				}
			}

			malformed := &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "broken.hcl", Content: "app \"x\" {\n"}}}
			_, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: malformed}))
			checkDiagnostics(t, err, "Unclosed configuration block", "broken.hcl")
			invalidApp := &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "bad.hcl", Content: "app \"x\" {}\n\nagent \"a\" {\n  from    = topic.nope\n  handler = \"h\"\n}\n"}}}
			_, err = c.Plan(ctx, connect.NewRequest(&weirv1.PlanRequest{Source: invalidApp}))
			checkDiagnostics(t, err, "Unknown topic", "bad.hcl")
			v, err := c.Validate(ctx, connect.NewRequest(&weirv1.ValidateRequest{Source: invalidApp}))
			if err != nil || v.Msg.Valid || len(v.Msg.Diagnostics) == 0 || v.Msg.Diagnostics[0].Line != 4 {
				t.Errorf("validate of an invalid app: %v, %v", v, err)
			}
			if _, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{})); connectCode(err) != connect.CodeInvalidArgument {
				t.Errorf("apply without files: %v", err)
			}

			huge := &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "big.hcl", Content: strings.Repeat("# padding\n", 2000)}}}
			_, err = c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: huge}))
			if connectCode(err) != connect.CodeResourceExhausted {
				t.Errorf("oversized apply: %v, want resource_exhausted", err)
			}
		})
	}

	// A declared topic that exists with another partition count is refused with the reason.
	c := ctlClient(t, p.Addr)
	ex := loadExample(t, "wordcount")
	harness.Admin(t).EnsureTopics(ctx, topics.TopicSpec{Name: ex.Prefix + "sentences", Partitions: 2})
	_, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source}))
	if connectCode(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "exists with 2 partitions but is declared with 4") {
		t.Errorf("apply over a topic with another partition count: %v", err)
	}
	if _, err := c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: ex.App})); connectCode(err) != connect.CodeNotFound {
		t.Errorf("a refused apply stored a version: %v", err)
	}
	waitReady(t, p.Addr, time.Second) // still serving
}

func checkDiagnostics(t *testing.T, err error, summary, file string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument || !strings.Contains(ce.Message(), summary) {
		t.Errorf("got %v, want invalid_argument with %q", err, summary)
		return
	}
	for _, d := range ce.Details() {
		m, derr := d.Value()
		if diags, ok := m.(*weirv1.Diagnostics); derr == nil && ok && len(diags.Diagnostics) > 0 {
			if diags.Diagnostics[0].File != file || diags.Diagnostics[0].Line == 0 {
				t.Errorf("diagnostic %v, want a position in %s", diags.Diagnostics[0], file)
			}
			return
		}
	}
	t.Errorf("%v carries no Diagnostics detail", err)
}

// TestControllerHA runs two controller processes; kill -9 of the leader lets the other
// accept an apply within the session TTL (3 s) + 2 s, and a write under the old leadership
// is rejected.
func TestControllerHA(t *testing.T) {
	env := newCtlEnv(t)
	bin := controllerBinary(t)
	ctx := harness.Context(t, 2*time.Minute)
	procs := map[string]*exec.Cmd{}
	for _, id := range []string{"ha1", "ha2"} {
		cmd := exec.Command(bin, env.flags(id)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[id] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	var regs []cluster.ControllerRecord
	waitFor(t, 20*time.Second, "both controllers to register", func() bool {
		var err error
		regs, err = cluster.ReadControllers(ctx, env.etcd, env.layout)
		return err == nil && len(regs) == 2
	})
	addrs := map[string]string{}
	for _, r := range regs {
		addrs[r.ID] = r.Addr
		waitReady(t, r.Addr, 20*time.Second)
	}
	lead, err := env.etcd.Get(ctx, env.layout.Election()+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(lead.Kvs) != 1 {
		t.Fatalf("reading the leader: %v", err)
	}
	leaderID := string(lead.Kvs[0].Value)
	oldGuard := cluster.Guard{Key: string(lead.Kvs[0].Key), Rev: lead.Kvs[0].CreateRevision}
	followerID := map[string]string{"ha1": "ha2", "ha2": "ha1"}[leaderID]
	follower := ctlClient(t, addrs[followerID])
	ex := loadExample(t, "wordcount")

	// The follower refuses writes and names the leader.
	_, err = follower.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source}))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeFailedPrecondition ||
		!strings.Contains(ce.Message(), fmt.Sprintf("not the leader; leader is %s at %s", leaderID, addrs[leaderID])) ||
		ce.Meta().Get("Weir-Leader-Addr") != addrs[leaderID] {
		t.Fatalf("follower's answer to a write: %v", err)
	}
	// ... and answers reads.
	if _, err := follower.List(ctx, connect.NewRequest(&weirv1.ListRequest{})); err != nil {
		t.Fatalf("follower List: %v", err)
	}

	if err := procs[leaderID].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_, _ = procs[leaderID].Process.Wait()
	for {
		_, err := follower.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source}))
		if err == nil {
			break
		}
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("no apply accepted %s after killing the leader (TTL 3 s + 2 s): %v", time.Since(killed), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the follower accepted an apply %s after the leader was killed", time.Since(killed).Round(time.Millisecond))

	// A write under the old leadership is rejected and changes nothing.
	st, err := cluster.ReadApp(ctx, env.etcd, env.layout, ex.App)
	if err != nil {
		t.Fatal(err)
	}
	put := clientv3.OpPut(env.layout.PausedKey(ex.App), `{"reason":"zombie"}`)
	_, err = cluster.CommitApp(ctx, env.etcd, env.layout, &oldGuard, cluster.AppWrite{App: ex.App, HeadRev: st.HeadRev, Ops: []clientv3.Op{put}})
	if !errors.Is(err, cluster.ErrNotLeader) {
		t.Fatalf("write under the old leadership: %v, want ErrNotLeader", err)
	}
	if resp, _ := env.etcd.Get(ctx, env.layout.PausedKey(ex.App)); len(resp.Kvs) != 0 {
		t.Error("the rejected write landed")
	}
	regs, err = cluster.ReadControllers(ctx, env.etcd, env.layout)
	if err != nil || len(regs) != 1 || regs[0].ID != followerID {
		t.Errorf("registry after the kill: %v, %v", regs, err)
	}
}

// TestControllerCLI drives the binary's commands against an in-process controller: help lists
// every command, apply/plan/history/get/describe/rollback/reset/delete work with --output
// json, and send/tail round-trip records through the app's codecs.
func TestControllerCLI(t *testing.T) {
	env := newCtlEnv(t)
	p := env.start(t, "c1")
	ctx := harness.Context(t, 2*time.Minute)
	bin := controllerBinary(t)
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("controller --help: %v\n%s", err, out)
	}
	for _, c := range []string{"validate", "fmt", "plan", "apply", "get", "describe", "history", "rollback", "reset", "delete", "send", "tail", "serve"} {
		if !strings.Contains(string(out), "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}

	ex := loadExample(t, "pageviews")
	dir := t.TempDir()
	file := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(file, []byte(ex.Source.Files[0].Content), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		args = append(args, "--controller", "http://"+p.Addr)
		if args[0] == "send" || args[0] == "tail" {
			args = append(args, "--kafka-brokers", strings.Join(env.brokers, ","))
		}
		if code := cli.RunContext(ctx, args, &stdout, &stderr); code != want {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	if o := run(0, "plan", file); !strings.Contains(o, "new app") {
		t.Errorf("plan:\n%s", o)
	}
	if o := run(0, "apply", file, "--output", "json", "--author", "cli"); jsonField(t, o, "created") != true {
		t.Errorf("apply --output json:\n%s", o)
	}
	if o := run(0, "plan", file); !strings.Contains(o, "No changes") {
		t.Errorf("plan after apply:\n%s", o)
	}
	if o := run(0, "history", ex.App); !strings.Contains(o, "cli") {
		t.Errorf("history:\n%s", o)
	}
	if o := run(0, "get"); !strings.Contains(o, ex.App) {
		t.Errorf("get (list):\n%s", o)
	}
	if o := run(0, "get", ex.App); !strings.Contains(o, "views_per_minute") {
		t.Errorf("get APP:\n%s", o)
	}
	if o := run(0, "describe", ex.App, "--output", "json"); jsonField(t, o, "status", "consumerGroup") != "weir."+ex.App {
		t.Errorf("describe --output json:\n%s", o)
	}
	run(1, "rollback", ex.App, "7")
	run(1, "describe", "nope")

	// send with the app's model codec: a bad record is refused before anything is sent.
	topic := ex.Prefix + "page_views"
	send := func(want int, input string, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		args = append([]string{"send", "page_views", "--app", ex.App, "--controller", "http://" + p.Addr,
			"--kafka-brokers", strings.Join(env.brokers, ",")}, args...)
		code := runWithStdin(ctx, input, args, &stdout, &stderr)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\nstderr:\n%s", args, code, want, stderr.String())
		}
		return stdout.String()
	}
	send(0, `{"key": "u1", "value": {"page": "/a", "at": "2026-01-02T03:04:05Z"}}`+"\n"+
		`{"key": "u2", "value": {"page": "/b", "at": "2026-01-02T03:04:06Z"}}`+"\n")
	send(1, `{"key": "u3", "value": {"at": "2026-01-02T03:04:06Z"}}`+"\n") // page is required
	send(0, "", "--key", "u4", "--value", `{"page": "/c", "at": "2026-01-02T03:04:07Z"}`)
	o := run(0, "tail", "page_views", "--app", ex.App, "--from", "earliest", "--limit", "3", "--output", "json", "--idle", "20s")
	lines := strings.Split(strings.TrimSpace(o), "\n")
	if len(lines) != 3 || !strings.Contains(o, `"page":"/c"`) || !strings.Contains(o, `"topic":"`+topic+`"`) {
		t.Errorf("tail printed:\n%s", o)
	}

	if o := run(0, "reset", ex.App, "--to", "earliest"); !strings.Contains(o, "epoch floor") {
		t.Errorf("reset:\n%s", o)
	}
	if o := run(0, "delete", ex.App, "--delete-topics"); !strings.Contains(o, "deleted topic weir."+ex.App) {
		t.Errorf("delete:\n%s", o)
	}
}

// jsonField decodes a JSON document and returns the value at path.
func jsonField(t *testing.T, doc string, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// runWithStdin runs `controller send` with input on stdin (send reads os.Stdin).
func runWithStdin(ctx context.Context, input string, args []string, stdout, stderr *strings.Builder) int {
	r, w, err := os.Pipe()
	if err != nil {
		return -1
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	go func() { _, _ = w.WriteString(input); w.Close() }()
	return cli.RunContext(ctx, args, stdout, stderr)
}

// produce writes n small records to topic.
func produce(t *testing.T, ctx context.Context, topic string, n int) {
	t.Helper()
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var recs []topics.Record
	for i := range n {
		recs = append(recs, topics.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i)), Value: []byte(`"hello world"`)})
	}
	if err := p.Send(ctx, recs...); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// describe describes a topic, waiting out the broker's metadata lag after a create.
// (A fresh Admin each time: an Admin's metadata is cached by kafka-go for 30 s.)
func describe(t *testing.T, ctx context.Context, topic string) topics.TopicInfo {
	t.Helper()
	var info topics.TopicInfo
	var err error
	waitFor(t, 15*time.Second, "topic "+topic, func() bool {
		info, err = harness.Admin(t).DescribeTopic(ctx, topic)
		return err == nil
	})
	return info
}

// endOffsets sums the end offsets of a topic's partitions, waiting out "not leader" answers
// right after the topic was (re)created.
func endOffsets(t *testing.T, ctx context.Context, topic string) (sum int64) {
	t.Helper()
	var r map[topics.TopicPartition]topics.OffsetRange
	var err error
	waitFor(t, 15*time.Second, "offsets of "+topic, func() bool {
		r, err = harness.Admin(t).ListOffsets(ctx, topic)
		return err == nil
	})
	for _, o := range r {
		sum += o.End
	}
	return sum
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestControllerServe runs the checks every service's serve passes (GetInfo over Connect and
// gRPC, ready, clean stop) on the controller with its etcd and Kafka.
func TestControllerServe(t *testing.T) {
	env := newCtlEnv(t)
	flags := env.flags("unused")
	servicetest.TestServe(t, cli.RunContext, "controller", flags[5:]...) // after serve --listen X --instance-id Y
}
