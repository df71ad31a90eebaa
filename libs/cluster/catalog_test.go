package cluster

import (
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

func TestCatalogAndKeys(t *testing.T) {
	c, err := DecodeCatalog([]byte(`{"name": "shop",
	  "tables": [{"name": "counts", "key": "number", "value": "number", "global": false},
	             {"name": "by_user", "key": "model.User", "value": "json", "global": false},
	             {"name": "limits", "key": "string", "value": "json", "global": true},
	             {"name": "handler_only", "key": "string", "value": "json", "global": false}],
	  "task_groups": [{"name": "g", "partitions": 6, "tables": ["by_user", "counts"], "changelog": "weir.shop.g.changelog"}]}`), 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Route("counts")
	if err != nil || r.Group != "g" || r.Partitions != 6 || r.Changelog != "weir.shop.g.changelog" {
		t.Fatalf("route of counts = %+v, %v", r, err)
	}
	if g, _ := c.Route("limits"); !g.Global || g.Changelog != "" {
		t.Errorf("route of limits = %+v", g)
	}
	if _, err := c.Route("handler_only"); err == nil {
		t.Error("a table no group holds has a route")
	}
	for _, v := range []any{42.0, "42", " 42 "} {
		k, err := r.EncodeKey(v)
		if err != nil || string(k) != "42" || r.Partition(k) != int(topics.KeyPartition([]byte("42"), 6)) {
			t.Errorf("EncodeKey(%q) = %q, %v", v, k, err)
		}
	}
	u, _ := c.Route("by_user")
	if k, err := u.EncodeKey(`{"b": 1, "a": "x"}`); err != nil || string(k) != `{"a":"x","b":1}` {
		t.Errorf("model key from text = %q, %v", k, err)
	}
	for _, bad := range []any{nil, "abc", true, map[string]any{"a": 1}} {
		if _, err := r.EncodeKey(bad); err == nil {
			t.Errorf("EncodeKey(%v) for a number key: no error", bad)
		}
	}
	s := TableRoute{KeyType: "string", Partitions: 1}
	if _, err := s.EncodeKey("\x00avg"); err == nil {
		t.Error("an internal key was accepted")
	}
}
