package service

import (
	"slices"
	"sync"
)

// Serve declares Connect services the caller mounted with Handle (by their fully qualified
// names, such as weirv1connect.QueryServiceName): gRPC server reflection lists them and
// grpc.health.v1 reports them SERVING while the server is ready. Safe to call at any time.
func (s *Server) Serve(names ...string) {
	s.served.add(names...)
	s.SetReady(s.Ready())
}

// serviceNames is the set of service names the server reflects; it implements
// grpcreflect.Namer. Safe for concurrent use.
type serviceNames struct {
	mu    sync.Mutex
	names []string
}

func (n *serviceNames) add(names ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, name := range names {
		if !slices.Contains(n.names, name) {
			n.names = append(n.names, name)
		}
	}
}

// Names returns the service names, in the order they were added.
func (n *serviceNames) Names() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.names)
}
