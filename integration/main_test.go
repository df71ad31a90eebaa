//go:build integration

package integration

import (
	"testing"

	"github.com/weirhq/weir/integration/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
