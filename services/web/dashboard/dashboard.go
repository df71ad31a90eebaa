// Package dashboard is the web service's single-page dashboard: plain HTML, CSS and
// JavaScript embedded in the binary (no external CDN), calling the QueryService's JSON
// endpoints (Connect protocol, POST application/json).
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/weirhq/weir/libs/service"
)

//go:embed static
var files embed.FS

// Mount serves the page at / and its assets under /static/.
func Mount(srv *service.Server) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	assets := http.StripPrefix("/static/", http.FileServerFS(static))
	srv.Handle("GET /static/", noCache(assets))
	srv.Handle("GET /{$}", noCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})))
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		h.ServeHTTP(w, r)
	})
}
