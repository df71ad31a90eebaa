package records

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// Exit codes, as libs/service defines them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// common are the flags send and tail share.
type common struct {
	loader     *config.Loader
	app        string
	controller string
	keyCodec   string
	valueCodec string
	output     string
}

func (c *common) register(fs *flag.FlagSet) {
	c.loader = config.NewLoader(config.Defaults("127.0.0.1:0"))
	c.loader.RegisterFlags(fs) // --kafka-brokers, TLS, SASL, --config ...
	def := os.Getenv("WEIR_CONTROLLER")
	if def == "" {
		def = "http://127.0.0.1:7070"
	}
	fs.StringVar(&c.app, "app", "", "use the codecs and topic names of this `app` (fetched from the controller)")
	fs.StringVar(&c.controller, "controller", def, "controller `URL` for --app (env WEIR_CONTROLLER)")
	fs.StringVar(&c.keyCodec, "key-codec", "string", "key `codec` without --app: bytes, string or json")
	fs.StringVar(&c.valueCodec, "value-codec", "json", "value `codec` without --app: bytes, string or json")
	fs.StringVar(&c.output, "output", "text", "output `format`: text or json")
}

// resolved is a topic's Kafka name and codecs.
type resolved struct {
	kafka      string
	key, value topics.Codec
	partitions int
}

// kafkaConfig loads the Kafka settings (defaults < --config < WEIR_* < flags).
func (c *common) kafkaConfig() (topics.ClientConfig, error) {
	cfg, err := c.loader.Load(os.LookupEnv)
	if err != nil {
		return topics.ClientConfig{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg.KafkaClient()
}

// resolve finds the topic's Kafka name and codecs: from the app's definition with --app,
// else from the codec flags.
func (c *common) resolve(ctx context.Context, topic string) (resolved, error) {
	if c.app == "" {
		k, err := topics.CodecByName(c.keyCodec, nil)
		if err != nil {
			return resolved{}, err
		}
		v, err := topics.CodecByName(c.valueCodec, nil)
		if err != nil {
			return resolved{}, err
		}
		return resolved{kafka: topic, key: k, value: v}, nil
	}
	base := c.controller
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	cl := weirv1connect.NewControllerServiceClient(http.DefaultClient, base, connect.WithProtoJSON())
	res, err := cl.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: c.app}))
	if err != nil {
		return resolved{}, fmt.Errorf("fetching app %q: %w", c.app, err)
	}
	v := res.Msg.GetVersion()
	files := map[string][]byte{}
	for _, f := range v.GetFiles() {
		files[f.GetName()] = []byte(f.GetContent())
	}
	opts := app.Options{Vars: v.GetVars()}
	for _, f := range v.GetVarFiles() {
		opts.VarFiles = append(opts.VarFiles, app.File{Name: f.GetName(), Src: []byte(f.GetContent())})
	}
	a, diags := app.Parse(files, opts)
	if diags.HasErrors() {
		return resolved{}, fmt.Errorf("app %q version %d does not parse here: %s", c.app, v.GetVersion(), diags.Error())
	}
	var t *app.Topic
	for _, cand := range a.Topics {
		if cand.Name == topic || cand.Kafka == topic {
			t = cand
			break
		}
	}
	if t == nil {
		var names []string
		for _, cand := range a.Topics {
			names = append(names, cand.Name)
		}
		return resolved{}, fmt.Errorf("app %q has no topic %q (topics: %s)", c.app, topic, strings.Join(names, ", "))
	}
	models := map[string]*topics.RecordSchema{}
	for _, m := range a.Models {
		s := m.RecordSchema()
		models[m.Name] = &s
	}
	k, err := topics.CodecByName(t.Key.String(), models)
	if err != nil {
		return resolved{}, err
	}
	val, err := topics.CodecByName(t.Value.String(), models)
	if err != nil {
		return resolved{}, err
	}
	return resolved{kafka: t.Kafka, key: k, value: val, partitions: t.Partitions}, nil
}

func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return errors.New("--output must be text or json")
	}
	return nil
}
