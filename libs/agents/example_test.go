package agents_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/testkit"
	"github.com/weirhq/weir/libs/config/app"
)

const greeterApp = `
app "greeter" {}

topic "names" {
  value = string
}

topic "greetings" {
  value = string
}

table "seen" {
  value = number
}

agent "greet" {
  from    = topic.names
  handler = "greet"
}
`

// A Go handler counts each name in a table and sends a greeting. A worker's main
// registers it under the name the app's handler attribute uses; here the test kit runs
// it in memory.
func ExampleHandlers() {
	handlers := agents.Handlers{}
	err := handlers.Register("greet", func(c *agents.Context) error {
		name := string(c.Value())
		n := 0
		if b, ok, err := c.Get("seen", c.Value()); err != nil {
			return err
		} else if ok {
			fmt.Sscan(string(b), &n)
		}
		n++
		if err := c.Set("seen", c.Value(), fmt.Appendf(nil, "%d", n)); err != nil {
			return err
		}
		c.Logger.Info("greeting", "name", name, "times", n)
		return c.Send("greetings", c.Key(), fmt.Appendf(nil, "hello %s (%d)", strings.ToUpper(name), n))
	})
	if err != nil {
		panic(err)
	}

	a, diags := app.Parse(map[string][]byte{"greeter.hcl": []byte(greeterApp)}, app.Options{Handlers: handlers.Names()})
	if diags.HasErrors() {
		panic(diags)
	}
	d, err := testkit.New(a, testkit.WithHandlers(handlers))
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"ann", "bob", "ann"} {
		if err := d.Send(context.Background(), testkit.Input{Topic: "names", Key: name, Value: name}); err != nil {
			panic(err)
		}
	}
	outs, _ := d.Outputs()
	for _, o := range outs {
		fmt.Println(o.Key, o.Value)
	}
	// Output:
	// ann hello ANN (1)
	// bob hello BOB (1)
	// ann hello ANN (2)
}
