package router

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/service"
)

// Clients makes and keeps one Connect client per worker address. Safe for concurrent use.
type Clients struct {
	http  *http.Client
	opts  []connect.ClientOption
	mu    sync.Mutex
	table map[string]weirv1connect.TableServiceClient
	stats map[string]weirv1connect.WorkerServiceClient
}

// NewClients returns clients that send token (if any) as a bearer token, with timeout per
// call (5 s when zero).
func NewClients(token string, timeout time.Duration) *Clients {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &Clients{
		http:  &http.Client{Transport: tr, Timeout: timeout},
		opts:  []connect.ClientOption{connect.WithInterceptors(service.WithBearer(token))},
		table: map[string]weirv1connect.TableServiceClient{},
		stats: map[string]weirv1connect.WorkerServiceClient{},
	}
}

func baseURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return addr
	}
	return "http://" + addr
}

// Table returns the TableService client of a worker address.
func (c *Clients) Table(addr string) weirv1connect.TableServiceClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.table[addr]
	if !ok {
		cl = weirv1connect.NewTableServiceClient(c.http, baseURL(addr), c.opts...)
		c.table[addr] = cl
	}
	return cl
}

// Stats returns the WorkerService client of a worker address.
func (c *Clients) Stats(addr string) weirv1connect.WorkerServiceClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.stats[addr]
	if !ok {
		cl = weirv1connect.NewWorkerServiceClient(c.http, baseURL(addr), c.opts...)
		c.stats[addr] = cl
	}
	return cl
}
